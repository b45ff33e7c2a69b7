#!/usr/bin/env python3
"""What the DNS split (egress.dns) costs: query latency through the node agent against
the same query sent directly, side by side as a ratio, and the agent's cost per served pod
(fds, threads, RSS).

  sudo python3 bench/dns_latency.py --splitnet build/splitnet --pods 20 --queries 500

Steps: bench/load.py's private node netns and VPN gateway netns; a "cluster DNS"
(tests/e2e/dns/dns_server.py) on 10.43.0.10 in the node netns and a "VPN resolver" on the
gateway's net1 address; `splitnet install --cluster-dns=10.43.0.10` as the agent; N pods ADDed
with eth0 (ptp) and net1 (native macvlan + egress with egress.dns). From pod 0, sequential UDP
queries (one in flight, like a resolver's A lookup):
  - cluster name via the agent (pod -> agent in the pod's netns -> node netns -> cluster DNS)
    against the same query sent from the node netns straight to the cluster DNS;
  - other name via the agent (-> pod's netns -> net1 -> resolver) against the pod querying the
    resolver itself through net1.
The agent's fds, threads and VmRSS are read with no pod served and with N. Not a test: nothing
is asserted (figures go to docs/egress.md). Everything is removed on exit.
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from benchlib import AgentBench, EgressPod, bench_arguments, reporter  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DNS_SERVER = os.path.join(HERE, "..", "tests", "e2e", "dns", "dns_server.py")
CLUSTER_DNS = "10.43.0.10"
CLUSTER_NAME = "bench.default.svc.cluster.local"
OTHER_NAME = "tracker.example"

# Sequential A queries, paced below the agent's per-pod rate bound (200/s: faster, queries would
# be dropped by design); prints the latencies in microseconds as a JSON list.
CLIENT = r"""
import json, random, socket, struct, sys, time
server, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
pace = 1 / 150
q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect((server, 53))
out = []
next_at = time.monotonic()
for i in range(count):
    next_at += pace
    time.sleep(max(0, next_at - time.monotonic()))  # pacing only; never a synchronisation
    qid = random.randrange(65536)
    t = time.perf_counter_ns()
    s.send(struct.pack("!HHHHHH", qid, 0x100, 1, 0, 0, 0) + q)
    while struct.unpack("!H", s.recv(4096)[:2])[0] != qid:
        pass
    out.append((time.perf_counter_ns() - t) / 1000)
print(json.dumps(out))
"""


class DnsPod(EgressPod):
    def __init__(self, node, index):
        super().__init__(node, index)
        conf = json.loads(self.conf)
        conf["clusterDNS"] = CLUSTER_DNS
        conf["delegates"][1]["egress"]["dns"] = {"servers": [load.NET1_GATEWAY]}
        self.conf = json.dumps(conf).encode()


def latencies(netns, server, name, count):
    cmd = ([] if netns is None else ["ip", "netns", "exec", netns]) + \
        [sys.executable, "-c", CLIENT, server, name, str(count)]
    done = subprocess.run(cmd, capture_output=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"query client failed: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout)


def steady_cost(pid):
    """The smallest of 20 samples 0.25 s apart: a gateway probe round's threads and sockets
    come and go; what stays is the DNS split's own."""
    samples = []
    for _ in range(20):
        samples.append(agent_cost(pid))
        time.sleep(0.25)
    return {k: min(s[k] for s in samples) for k in samples[0]}


def agent_cost(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            status[key] = rest.split()[0] if rest.split() else ""
    return {"fds": fds, "threads": int(status["Threads"]), "rss_kib": int(status["VmRSS"])}


def main():
    ap = bench_arguments(__doc__, pods=20, parallel=4)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    report = reporter()

    with AgentBench("dns", args.splitnet, args.parallel, report) as bench:
        load.run_cmd("ip", "addr", "add", f"{CLUSTER_DNS}/32", "dev", "lo")
        bench.helper([sys.executable, DNS_SERVER, CLUSTER_DNS, os.devnull, "10.43.7.7",
                      "cluster.local"])
        bench.helper(["ip", "netns", "exec", bench.node.gw, sys.executable, DNS_SERVER,
                      load.NET1_GATEWAY, os.devnull, "203.0.113.80"])
        pods = [DnsPod(bench.node, i) for i in range(args.pods)]
        agent = bench.start_agent(pods[0].conf, "--metrics-bind-address=0",
                                  "--guard-bypassed-pods=false", "--gateway-probe-interval=1s",
                                  f"--cluster-dns={CLUSTER_DNS}")
        # The baseline: the agent once it has written the node config, serving no pod yet.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not os.listdir(bench.agent_netd):
            time.sleep(0.2)
        baseline = steady_cost(agent.pid)
        report(f"agent with no pod served: {baseline}")

        added = bench.add_pods(pods)
        report(f"{added} of {args.pods} pods with egress.dns ADDed")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and \
                open(bench.agent_log).read().count("dns split: serving") < added:
            time.sleep(0.5)
        served = steady_cost(agent.pid)
        report(f"agent serving {added} pods: {served}")
        if added:
            per_pod = {k: round((served[k] - baseline[k]) / added, 2) for k in baseline}
            report(f"per pod: {per_pod['fds']} fds, {per_pod['threads']} threads, "
                   f"{per_pod['rss_kib']} KiB RSS")

        pod_ns = pods[0].name
        rows = [
            ("cluster name", latencies(pod_ns, CLUSTER_DNS, CLUSTER_NAME, args.queries),
             latencies(None, CLUSTER_DNS, CLUSTER_NAME, args.queries)),
            ("other name (VPN)", latencies(pod_ns, CLUSTER_DNS, OTHER_NAME, args.queries),
             latencies(pod_ns, load.NET1_GATEWAY, OTHER_NAME, args.queries)),
        ]
        print(f"{'query':18} {'via agent p50 us':>17} {'direct p50 us':>14} {'ratio':>6} "
              f"{'via agent p90':>14} {'direct p90':>11}")
        for label, via, direct in rows:
            p50v, p50d = statistics.median(via), statistics.median(direct)
            p90v = statistics.quantiles(via, n=10)[-1]
            p90d = statistics.quantiles(direct, n=10)[-1]
            print(f"{label:18} {p50v:17.0f} {p50d:14.0f} {p50v / p50d:6.2f} {p90v:14.0f} "
                  f"{p90d:11.0f}")
        print(f"load average: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
