#!/usr/bin/env python3
"""What the node agent costs: CPU seconds per probe interval and RSS of `splitnet install`
(metrics endpoint + gateway watch) with N egress pods on the node, made by the real plugin.

  sudo python3 bench/agent_cost.py --splitnet build/splitnet --pods 100 --intervals 20

Steps: a private node netns and a VPN gateway netns (bench/load.py's topology), N pods ADDed
with eth0 (ptp + host-local) and net1 (native macvlan + static + egress); then the agent runs
with --gateway-probe-interval (default 1s, so N intervals take N seconds: the cost per interval
does not depend on the interval's length) and /metrics on the node netns' loopback. After a
warm-up round, its CPU time (utime + stime from /proc/<pid>/stat) is read at two probe-round
counts `--intervals` apart, twice: with the gateway up (each probe answered at once) and with
the gateway's link down (every probe runs out its full bound, 3 x 300 ms). Reported: CPU seconds
per interval, VmRSS and VmHWM, the round duration, the scrape size. Not a test: nothing is
asserted (figures go to docs/observability.md). Everything is removed on exit (load.py's
cleanup: netns, processes in them, temp dir).
"""

import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the same node, pods and runner as the load test)
from benchlib import AgentBench, EgressPod, bench_arguments, reporter  # noqa: E402

METRICS = "127.0.0.1:9234"


def scrape():
    with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=30) as r:
        return r.read().decode()


def value(text, name, labels=""):
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def wait_rounds(target, bound):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            text = scrape()
            if value(text, "splitnet_gateway_probe_rounds_total") >= target:
                return text
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the agent did not reach {target} probe rounds within {bound} s")


def measure(pid, intervals, interval_s, label, report):
    start_text = wait_rounds(value(scrape(), "splitnet_gateway_probe_rounds_total") + 1,
                             60 + 10 * interval_s)
    start_rounds = value(start_text, "splitnet_gateway_probe_rounds_total")
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    text = wait_rounds(start_rounds + intervals, 120 + 3 * intervals * interval_s)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    rounds = value(text, "splitnet_gateway_probe_rounds_total") - start_rounds
    reachable = len(re.findall(r"^splitnet_egress_gateway_reachable\{.*\} 1$", text, re.M))
    unreachable = len(re.findall(r"^splitnet_egress_gateway_reachable\{.*\} 0$", text, re.M))
    report(f"{label}: {rounds:.0f} rounds in {t1 - t0:.1f} s wall; CPU {cpu1 - cpu0:.2f} s = "
           f"{(cpu1 - cpu0) / rounds * 1e3:.1f} ms per interval; last round "
           f"{value(text, 'splitnet_gateway_probe_round_duration_seconds'):.3f} s; "
           f"gateways reachable {reachable}, unreachable {unreachable}; VmRSS "
           f"{status_kib(pid, 'VmRSS')} KiB, VmHWM {status_kib(pid, 'VmHWM')} KiB; "
           f"scrape {len(text)} bytes")
    return text


def main():
    ap = bench_arguments(__doc__, pods=100, parallel=8)
    ap.add_argument("--intervals", type=int, default=20)
    ap.add_argument("--interval", default="1s", help="--gateway-probe-interval")
    ap.add_argument("--scrape-out", help="write the last scrape with the gateway down here")
    args = ap.parse_args()
    interval_s = float(args.interval[:-1]) if args.interval.endswith("s") and \
        not args.interval.endswith("ms") else float(args.interval[:-2]) / 1000
    report = reporter()

    with AgentBench("agent", args.splitnet, args.parallel, report) as bench:
        added = bench.add_pods([EgressPod(bench.node, i) for i in range(args.pods)])
        report(f"{added} of {args.pods} egress pods ADDed")
        if bench.stats.failures:
            report(f"failures: {bench.stats.failures[:3]}")

        agent = bench.start_agent(bench.pods[0].conf, f"--metrics-bind-address={METRICS}",
                                  f"--gateway-probe-interval={args.interval}")
        report("agent: " + " ".join(agent.args))
        wait_rounds(1, 120)
        measure(agent.pid, args.intervals, interval_s, "gateway up", report)
        load.run_cmd("ip", "-n", bench.node.gw, "link", "set", "gw0", "down")
        text = measure(agent.pid, args.intervals, interval_s, "gateway down", report)
        if args.scrape_out:
            with open(args.scrape_out, "w") as f:
                f.write(text)
        load.run_cmd("ip", "-n", bench.node.gw, "link", "set", "gw0", "up")


if __name__ == "__main__":
    main()
