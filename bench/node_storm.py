#!/usr/bin/env python3
"""Node storm: N pods (default 110, the kubelet's max-pods) ADDed
concurrently, then DELed concurrently, through each variant of bench/pods.py in turn (primary
alone, splitnet with and without the egress policy, the chain; --splitnet-b adds a second
splitnet binary). With --rounds R the storms alternate (variant order rotated each round) so the
load of a shared machine hits every variant alike.

Per storm and verb it reports:
  - per-pod latency p50/p99: the pod's plugin time, fork..wait4 of each exec (a chain's two
    steps summed; this script's own spawning left out) -- under a storm most of it is waiting
    for the CPU and for locks (host-local's dataDir lock, the kernel's rtnl lock);
  - total wall: first spawn to last completion, as this script sees it;
  - node CPU: user+sys of every plugin process and its waited-for children (wait4 rusage,
    summed). Kernel work done outside them (kworkers: netns and link teardown) is not in it;
  - peak memory of the plugin processes together, two ways:
      sampled:  a thread sums VmRSS of the live processes (by comm: splitnet, ptp, host-local,
                macvlan, static) in a loop; the largest sum is a LOWER bound of the true peak
                (a sample can miss the moment), and it counts the pages of the shared binary
                once per process (RSS, not PSS);
      estimate: the same samples as RssAnon summed + the largest single RssFile: the private
                memory plus one copy of the binary's pages;
      and splitnet processes alone, the same way;
    sum of ru_maxrss: every invocation's peak from wait4 added up. wait4 gives the largest
                single process of the invocation's tree (splitnet or the ptp it waited for),
                not their sum, so this is an upper bound only where one process runs at a time
                (the primary's ptp and host-local overlap: not even there); shown for contrast.
Every pod must succeed, and nothing may be left: each pod netns holds only lo after DEL, and the
node has no pod veth, splitnet state, host-local lease, lock file or process left. Exit 1 if not.

Not a test. Run as root, e.g.
  sudo python3 bench/node_storm.py --splitnet build/splitnet
  sudo python3 bench/node_storm.py --splitnet main/splitnet --splitnet-b overlap/splitnet --rounds 3

Addresses: eth0 from host-local's 10.42.0.0/20 (4094, released by DEL), net1 static
198.18.0.10 + pod index (the pod index is reused by every storm; --pods up to 65000).
Safety: as bench/load.py (a private node netns, uniquely named netns, all deleted on exit).
"""

import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time

from load import Stop, STOPPING, check_nothing_left, run_cmd
import pods

REFERENCE_COMMS = {"ptp", "host-local", "macvlan", "static"}


class Memory(threading.Thread):
    """Samples the RSS of the plugin processes until stopped. Ours are the descendants of our
    launchers (a plugin may put its own children in a new process group, so not by group), which
    leaves out other users' splitnet runs on the same machine."""

    def __init__(self, binaries):
        super().__init__(daemon=True)
        self.binaries = binaries
        # comm is the executable's file name, cut to 15 characters
        self.splitnet_comms = {os.path.basename(p)[:15] for p in binaries.splitnet.values() if p}
        self.plugin_comms = REFERENCE_COMMS | self.splitnet_comms
        self.stop = threading.Event()
        self.peak_all = self.peak_sn = 0  # KiB, sum of VmRSS
        self.peak_all_est = self.peak_sn_est = 0  # KiB, sum RssAnon + max RssFile
        self.samples = 0

    def groups(self):
        pgids = set()
        for runner in self.binaries.runners.values():
            with runner.lock:
                pgids |= runner.running
        return pgids

    def run(self):
        while not self.stop.is_set():
            launchers = self.groups()
            procs = {}  # pid -> (ppid, comm)
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        stat = f.read()
                    procs[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]),
                                         stat[stat.index("(") + 1:stat.rindex(")")])
                except (OSError, ValueError, IndexError):
                    continue
            rss_all = rss_sn = anon_all = anon_sn = file_all = file_sn = 0
            for pid, (ppid, comm) in procs.items():
                if comm not in self.plugin_comms or not descends(procs, ppid, launchers):
                    continue
                try:
                    with open(f"/proc/{pid}/status") as f:
                        status = f.read()
                except OSError:
                    continue
                fields = {}
                for line in status.splitlines():
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "RssAnon", "RssFile"):
                        fields[key] = int(value.split()[0])
                if "VmRSS" not in fields:
                    continue  # a zombie
                rss_all += fields["VmRSS"]
                anon_all += fields.get("RssAnon", 0)
                file_all = max(file_all, fields.get("RssFile", 0))
                if comm in self.splitnet_comms:
                    rss_sn += fields["VmRSS"]
                    anon_sn += fields.get("RssAnon", 0)
                    file_sn = max(file_sn, fields.get("RssFile", 0))
            self.samples += 1
            self.peak_all = max(self.peak_all, rss_all)
            self.peak_sn = max(self.peak_sn, rss_sn)
            self.peak_all_est = max(self.peak_all_est, anon_all + file_all)
            self.peak_sn_est = max(self.peak_sn_est, anon_sn + file_sn)
            self.stop.wait(0.002)


def descends(procs, pid, ancestors):
    for _ in range(16):
        if pid in ancestors:
            return True
        if pid not in procs:
            return False
        pid = procs[pid][0]
    return False


class Failures:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def fail(self, text):
        with self.lock:
            self.items.append(text)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def storm(args, node, binaries, variant, round_no, extra, stderr_fd, failures):
    """One storm of one variant; returns {verb: figures}."""
    the_pods = [pods.Pod(node, variant, i, extra[0], extra[1], tag=f"r{round_no}")
                for i in range(args.pods)]

    def make(pod):
        pod.created = True
        node.add_netns(pod.name)

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(make, the_pods))

    figures = {}
    for verb in ("ADD", "DEL"):
        mem = Memory(binaries)
        mem.start()
        results = [None] * len(the_pods)
        start = threading.Barrier(len(the_pods) + 1)

        def one(i):
            start.wait()
            if STOPPING.is_set():
                raise Stop("stopping")
            results[i] = pods.run_pod(binaries, the_pods[i], verb, stderr_fd)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(the_pods))]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        start.wait()
        for t in threads:
            t.join()
        total = time.monotonic() - t0
        mem.stop.set()
        mem.join()
        ok = [r for r in results if r and r["ok"]]
        for r in results:
            if r is None:
                failures.fail(f"{variant} {verb}: a pod did not run")
            elif not r["ok"]:
                failures.fail(f"{variant} {verb}: {r['why']}")
        lat = [r["wall"] * 1e3 for r in ok]
        figures[verb] = {
            "ok": len(ok), "total": total * 1e3,
            "p50": percentile(lat, 50) if lat else float("nan"),
            "p99": percentile(lat, 99) if lat else float("nan"),
            "cpu": sum(r["cpu"] for r in ok) * 1e3,
            "maxrss_sum": sum(r["rss"] for r in ok),
            "mem_all": mem.peak_all, "mem_all_est": mem.peak_all_est,
            "mem_sn": mem.peak_sn, "mem_sn_est": mem.peak_sn_est, "samples": mem.samples,
        }
        if verb == "ADD" and variant not in pods.PRIMARY_RESULT_VARIANTS:
            bad = [p.name for p in the_pods
                   if p.result is None or sorted(i.get("name") for i in
                                                 p.result.get("interfaces", [])
                                                 if i.get("sandbox"))
                   != ["eth0", "net1"]]
            if bad:
                failures.fail(f"{variant}: {len(bad)} result(s) without eth0 + net1, e.g. {bad[0]}")

    def check_and_delete(pod):
        try:
            left = [link["ifname"] for link in
                    json.loads(run_cmd("ip", "-n", pod.name, "-j", "link", "show"))]
            if left != ["lo"]:
                failures.fail(f"{variant}: after DEL {pod.name} still has {sorted(left)}")
        finally:
            node.del_netns(pod.name)

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(check_and_delete, the_pods))
    before = len(failures.items)
    after = check_nothing_left(node, failures, lambda text: None)
    if len(failures.items) != before:
        print(f"  {variant}: left after the storm: {json.dumps(after)}")
    return figures


def main():
    ap = pods.argument_parser(__doc__)
    ap.add_argument("--pods", type=int, default=110)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--variants", help="comma-separated subset of the variants")
    ap.add_argument("--timeout", type=float, default=300, help="bound of one invocation, s")
    args = ap.parse_args()
    splitnet_a, splitnet_b = pods.binaries_of(args)
    pods.net1_address(args.pods - 1)
    extra = (pods.parse_extra(args.set), pods.parse_extra(args.set_b))
    names = pods.variants(splitnet_b)
    if args.variants:
        names = tuple(v for v in names if v in args.variants.split(","))

    failures = Failures()
    status = 1
    try:
        with pods.bench_node("storm", splitnet_a, splitnet_b, args.timeout,
                             api=args.api) as (node, binaries, tmp):
            figures = {v: [] for v in names}
            with open(os.path.join(tmp, "stderr.log"), "wb") as errlog:
                for r in range(args.rounds):
                    shift = r % len(names)
                    for v in names[shift:] + names[:shift]:
                        f = storm(args, node, binaries, v, r, extra, errlog.fileno(), failures)
                        figures[v].append(f)
                        print(f"round {r} {v}: ADD {f['ADD']['ok']}/{args.pods} ok, total "
                              f"{f['ADD']['total']:.0f} ms; DEL {f['DEL']['ok']}/{args.pods} "
                              f"ok, total {f['DEL']['total']:.0f} ms", flush=True)
            report(args, names, figures, failures, splitnet_a, splitnet_b, extra)
            status = 0 if not failures.items else 1
    except Stop as e:
        print(f"stopped: {e}")
    sys.exit(status)


def report(args, names, figures, failures, splitnet_a, splitnet_b, extra):
    def med(v, verb, key):
        return statistics.median(f[verb][key] for f in figures[v])

    print(f"\n{args.pods} pods per storm, {args.rounds} round(s), variants alternating; "
          f"medians over the rounds; failures: {len(failures.items)}")
    print(f"splitnet A: {splitnet_a} {extra[0] or ''}")
    if splitnet_b:
        print(f"splitnet B: {splitnet_b} {extra[1] or ''}")
    for verb in ("ADD", "DEL"):
        print(f"\n{verb:<19}{'p50 ms':>9}{'p99 ms':>9}{'total ms':>10}{'CPU ms':>9}"
              f"{'mem KiB':>10}{'est KiB':>10}{'sn KiB':>9}{'sn est':>9}{'sum maxrss':>12}")
        for v in names:
            print(f"{v:<19}{med(v, verb, 'p50'):>9.0f}{med(v, verb, 'p99'):>9.0f}"
                  f"{med(v, verb, 'total'):>10.0f}{med(v, verb, 'cpu'):>9.0f}"
                  f"{med(v, verb, 'mem_all'):>10.0f}{med(v, verb, 'mem_all_est'):>10.0f}"
                  f"{med(v, verb, 'mem_sn'):>9.0f}{med(v, verb, 'mem_sn_est'):>9.0f}"
                  f"{med(v, verb, 'maxrss_sum'):>12.0f}")
        if "primary" in names:
            print(f"{'ratio to primary':<19}{'p50':>9}{'p99':>9}{'total':>10}{'CPU':>9}"
                  f"{'mem':>10}{'est':>10}")
            for v in names:
                if v == "primary":
                    continue
                print(f"{v:<19}" + "".join(
                    f"{med(v, verb, k) / med('primary', verb, k):>{w - 1}.2f}x"
                    for k, w in (("p50", 9), ("p99", 9), ("total", 10), ("cpu", 9),
                                 ("mem_all", 10), ("mem_all_est", 10))))
    print("\nmem: sampled peak of the plugin processes' summed VmRSS (a lower bound; shared "
          "pages counted per process); est: summed RssAnon + one RssFile; sn: splitnet "
          "processes alone; sum maxrss: every invocation's wait4 peak (its largest single "
          "process) added up")
    for f in failures.items[:30]:
        print(f"FAILED: {f}")


if __name__ == "__main__":
    main()
