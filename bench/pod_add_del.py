#!/usr/bin/env python3
"""Pod-level ADD/DEL side by side: one pod at a time, alternating in one run
between the variants of bench/pods.py (primary alone, splitnet with and without the egress
policy, the chain; with --splitnet-b also a second splitnet binary, e.g. another branch).

Each cycle runs ADD then DEL of every variant, in an order shuffled from cycle to cycle (seeded:
--seed), so that the load of a shared machine hits every variant alike and no variant always
follows the same one (and inherits the kernel work its DEL left behind). Even so, one run with
the same binary as A and B gave B/A 0.92x to 0.98x (docs/benchmark.md, session 9): compare A and
B in runs with both slots swapped. Each variant has its own pod netns, made once. Printed:
medians of ADD wall, ADD CPU (user+sys of the plugin and every child it waited for, from wait4),
DEL wall, DEL CPU, peak RSS, and their ratios to the primary alone and to the floor (the least a
pod with a net1 costs, see bench/pods.py).

Checked (exit 1 if any fails): every call succeeds; after each DEL the pod netns holds only lo;
at the end nothing is left on the node (pod veths, splitnet state, host-local leases, processes).

Not a test. Run as root, e.g.
  sudo python3 bench/pod_add_del.py --splitnet build/splitnet --cycles 50
  sudo python3 bench/pod_add_del.py --splitnet main/splitnet --splitnet-b overlap/splitnet \\
      --set-b overlap=true

Safety: as bench/load.py (a private node netns, uniquely named pod and gateway netns, deleted on
any exit; no packet leaves them).
"""

import json
import os
import random
import statistics
import sys

from load import Stop, check_nothing_left, run_cmd
import pods

COLUMNS = (("ADD", "wall"), ("ADD", "cpu"), ("DEL", "wall"), ("DEL", "cpu"))


class Failures:
    def __init__(self):
        self.items = []

    def fail(self, text):
        self.items.append(text)


def main():
    ap = pods.argument_parser(__doc__)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60, help="bound of one invocation, s")
    ap.add_argument("--seed", type=int, default=1, help="of the per-cycle variant order")
    args = ap.parse_args()
    splitnet_a, splitnet_b = pods.binaries_of(args)
    extra_a, extra_b = pods.parse_extra(args.set), pods.parse_extra(args.set_b)

    status = 1
    try:
        with pods.bench_node("pod", splitnet_a, splitnet_b, args.timeout,
                              api=args.api) as (node, binaries, tmp):
            with open(os.path.join(tmp, "stderr.log"), "wb") as errlog:
                status = run(args, node, binaries, extra_a, extra_b, errlog.fileno())
    except Stop as e:
        print(f"stopped: {e}")
    sys.exit(status)


def run(args, node, binaries, extra_a, extra_b, stderr_fd):
    names = pods.variants(binaries.splitnet["splitnet_b"])
    failures = Failures()
    the_pods = {}
    for i, v in enumerate(names):
        pod = pods.Pod(node, v, i, extra_a, extra_b)
        node.add_netns(pod.name)
        the_pods[v] = pod
    samples = {(v, op): [] for v in names for op in ("ADD", "DEL")}
    shuffler = random.Random(args.seed)
    for cycle in range(args.warmup + args.cycles):
        order = list(names)
        shuffler.shuffle(order)
        for v in order:
            pod = the_pods[v]
            for op in ("ADD", "DEL"):
                res = pods.run_pod(binaries, pod, op, stderr_fd)
                if not res["ok"]:
                    failures.fail(res["why"])
                    if op == "ADD":
                        pods.run_pod(binaries, pod, "DEL", stderr_fd)  # clean for the next one
                    break
                if cycle >= args.warmup:
                    samples[(v, op)].append(res)
            left = sorted(link for link in pod_links(pod))
            if left != ["lo"]:
                failures.fail(f"after DEL, {pod.name} still has {left}")
            pod.result = None
    for pod in the_pods.values():
        node.del_netns(pod.name)
    check_nothing_left(node, failures, print)

    def med(v, op, key):
        values = [s[key] for s in samples[(v, op)]]
        return statistics.median(values) if values else float("nan")

    print(f"\n{args.cycles} cycles (+{args.warmup} warm-up), variants alternating "
          f"(order shuffled, seed {args.seed}); "
          f"failures: {len(failures.items)}")
    print(f"splitnet A: {binaries.splitnet['splitnet']} {extra_a or ''}")
    if binaries.splitnet["splitnet_b"]:
        print(f"splitnet B: {binaries.splitnet['splitnet_b']} {extra_b or ''}")
    print(f"\n{'variant':<19}{'ADD wall':>10}{'ADD CPU':>10}{'DEL wall':>10}{'DEL CPU':>10}"
          f"{'ADD RSS KiB':>13}   (ms, medians)")
    for v in names:
        print(f"{v:<19}" + "".join(f"{med(v, op, k) * 1e3:>10.2f}" for op, k in COLUMNS)
              + f"{med(v, 'ADD', 'rss'):>13.0f}")
    print(f"\n{'ratio to primary':<19}{'ADD wall':>10}{'ADD CPU':>10}{'DEL wall':>10}"
          f"{'DEL CPU':>10}")
    for v in names[1:]:
        print(f"{v:<19}" + "".join(f"{med(v, op, k) / med('primary', op, k):>9.2f}x"
                                   for op, k in COLUMNS))
    print(f"\n{'ratio to floor':<19}{'ADD wall':>10}{'ADD CPU':>10}{'DEL wall':>10}"
          f"{'DEL CPU':>10}")
    for v in names[2:]:
        print(f"{v:<19}" + "".join(f"{med(v, op, k) / med('floor', op, k):>9.2f}x"
                                   for op, k in COLUMNS))
    if binaries.splitnet["splitnet_b"]:
        print(f"\n{'B / A':<19}{'ADD wall':>10}{'ADD CPU':>10}{'DEL wall':>10}{'DEL CPU':>10}")
        for a, b in zip(pods.SPLITNET_VARIANTS, pods.B_VARIANTS):
            print(f"{b:<19}" + "".join(f"{med(b, op, k) / med(a, op, k):>9.2f}x"
                                       for op, k in COLUMNS))
    for f in failures.items[:30]:
        print(f"FAILED: {f}")
    return 0 if not failures.items else 1


def pod_links(pod):
    return [link["ifname"] for link in
            json.loads(run_cmd("ip", "-n", pod.name, "-j", "link", "show"))]


if __name__ == "__main__":
    main()
