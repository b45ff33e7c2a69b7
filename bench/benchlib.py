"""The set-up the node-agent benchmarks share (bench/agent_cost.py, bench/dns_latency.py): the
tool in a private network namespace as the node, bench/load.py's node and VPN gateway, egress
pods ADDed by the real plugin, and `splitnet install` as the agent; all of it removed on exit.

    with AgentBench("agent", splitnet, parallel, report) as bench:
        bench.add_pods([EgressPod(bench.node, i) for i in range(n)])
        agent = bench.start_agent(bench.pods[0].conf, "--metrics-bind-address=...")
"""

import argparse
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import load  # the same node, pods and runner as the load test
from macvlan_add_del import LAUNCHER_C, compile_c, unshare_net


class EgressPod(load.Pod):
    """load.Pod with a Kubernetes identity, so the agent's series carry namespace and pod."""

    def env(self, command):
        e = super().env(command)
        e["CNI_ARGS"] = (f"IgnoreUnknown=true;K8S_POD_NAMESPACE=bench;"
                         f"K8S_POD_NAME=egress-{self.index};K8S_POD_UID=uid-{self.index}")
        return e


def bench_arguments(doc, pods, parallel):
    """The flags every agent benchmark takes: --splitnet, --pods, --parallel."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True)
    ap.add_argument("--pods", type=int, default=pods)
    ap.add_argument("--parallel", type=int, default=parallel, help="ADDs/DELs at a time")
    return ap


def reporter():
    """A report(text) that prints with the seconds since it was made."""
    started = time.monotonic()

    def report(text):
        print(f"[{time.monotonic() - started:7.1f}s] {text}", flush=True)
    return report


def stop(process, grace_s=30):
    """Terminates PROCESS and reaps it, killing it when it outlives GRACE_S."""
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class AgentBench:
    """The node (this process, moved into a private network namespace), the gateway and the
    plugin runner; the pods ADDed through add_pods and the agent of start_agent. Leaving the
    `with` stops the agent and every helper process, DELs the pods and removes everything."""

    def __init__(self, name, splitnet, parallel, report):
        if os.geteuid() != 0:
            sys.exit("needs root")
        self.splitnet = os.path.abspath(splitnet)
        self.parallel = parallel
        self.report = report
        unshare_net()
        self.tmp = tempfile.mkdtemp(prefix=f"splitnet-{name}-")
        self.node = load.Node(f"splitnet-{name}-{os.getpid()}", self.tmp)
        self.stats = load.Stats()
        self.runner = None
        self.agent = None
        self.helpers = []
        self.pods = []
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    def __enter__(self):
        try:
            self.node.setup()
            self.runner = load.Runner(compile_c(self.tmp, "launcher", LAUNCHER_C), self.splitnet, 120)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_):
        self.close()

    def helper(self, argv):
        """Starts a helper process (a DNS server...), stopped before the pods are DELed."""
        process = subprocess.Popen(argv)
        self.helpers.append(process)
        return process

    def add_pods(self, pods):
        """ADDs PODS, `parallel` at a time, within an hour; returns how many succeeded."""
        self.pods = pods
        deadline = time.monotonic() + 3600
        with open(os.path.join(self.tmp, "stderr.log"), "wb") as errlog:
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.parallel) as pool:
                list(pool.map(lambda p: load.bounded(deadline, load.add_pod, self.node, self.runner,
                                                     self.stats, p, errlog.fileno()), pods))
        return sum(1 for p in pods if p.result is not None)

    def start_agent(self, conf, *flags):
        """`splitnet install` with CONF (bytes) as the master config and its own directories,
        plus FLAGS; its stderr goes to agent_log."""
        etc = os.path.join(self.tmp, "etc")
        os.mkdir(etc)
        master = os.path.join(etc, "00-splitnet.conf")
        with open(master, "wb") as f:
            f.write(conf)
        for d in ("agent-netd", "agent-bin", "agent-multusd"):
            os.mkdir(os.path.join(self.tmp, d))
        self.agent_netd = os.path.join(self.tmp, "agent-netd")
        self.agent_log = os.path.join(self.tmp, "agent.log")
        cmd = [self.splitnet, "install", f"--multus-conf-file={master}",
               f"--cni-conf-dir={self.agent_netd}", f"--cni-bin-dir={self.tmp}/agent-bin",
               f"--multus-cni-conf-dir={self.tmp}/agent-multusd", "--skip-multus-binary-copy",
               *flags]
        with open(self.agent_log, "wb") as log:
            self.agent = subprocess.Popen(cmd, stderr=log)
        return self.agent

    def close(self):
        if self.agent:
            stop(self.agent)
            self.agent = None
        for process in self.helpers:
            process.kill()
            process.wait()
        self.helpers = []
        if self.runner:
            with open(os.devnull, "wb") as devnull:
                with concurrent.futures.ThreadPoolExecutor(max_workers=self.parallel) as pool:
                    list(pool.map(lambda p: load.del_pod(self.node, self.runner, self.stats, p,
                                                         devnull.fileno()), self.pods))
            self.runner.kill_all()
            self.runner = None
        self.node.teardown()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.report("cleaned up")
