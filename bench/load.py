#!/usr/bin/env python3
"""Load and soak of splitnet on one node: many pods at once, or many ADD/DEL cycles, each pod
with eth0 (Debian ptp + host-local, the primary) and net1 (splitnet's native macvlan + static
with a VPN egress policy: probeGateway require, probeConflict, IPv6 blocked).

  --pods N     N pods ADDed concurrently (all at once unless --parallel), checked, then DELed
               concurrently, then checked again.
  --cycles N   N ADD+DEL cycles (soak), --parallel at a time (default 1), every cycle with a
               new pod netns and container ID; the node is sampled every --sample-every cycles.

Checked and reported (exit status 1 when a check fails):
  - every ADD and DEL succeeded (exit 0, one JSON document), none hit the bound (--timeout);
  - unique IPs: with --pods, every eth0 address distinct (from the results) and every pod's
    kernel addresses equal to its result (eth0 from host-local, net1 the static one we chose);
  - nothing left after DEL: each pod netns holds only lo (checked before the tool deletes it), no
    pod veth on the node, no host-local lease, no splitnet state file, no pod netns, no process
    left in our namespaces;
  - flat over the soak: files in cniDir (state, locks, other) and in the host-local dataDir,
    node links, netns and processes, sampled between cycles; per invocation: peak RSS (wait4 of
    splitnet and the children it waited for: ptp, a Go binary, dominates it), and splitnet's own
    open fds and peak RSS (VmHWM) seen from its primary delegate while splitnet waits for it (a
    wrapper in binDir reads /proc/<splitnet>/fd and status, then execs the real ptp).
  Growth is reported per metric, first sample against last, and counts as a failed check.

Not a test (nothing here is timed or asserted in CI). Run as root, e.g.
  sudo python3 bench/load.py --splitnet build/splitnet --pods 200
  sudo python3 bench/load.py --splitnet build/splitnet --cycles 1000

Safety: the tool moves itself into a private network namespace (unshare), which is the "node";
the VPN gateway and every pod are uniquely named netns (splitnet-load-<random>-*). The machine's
own namespace is never touched and no packet leaves the namespaces (ARP on the VPN segment only).
Everything is bounded: each invocation (--timeout, then its process group is killed), each
helper command, and the whole run (--max-seconds: no new work after it). On any exit (normal,
error, ^C, SIGTERM, SIGHUP) running invocations are killed, leftover processes inside our
namespaces are killed by pid, every netns we created is deleted and the temp dir removed.
"""

import argparse
import concurrent.futures
import ipaddress
import json
import os
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from macvlan_add_del import LAUNCHER_C, compile_c, unshare_net

REFERENCE_DIR = "/usr/lib/cni"
NET1_SUBNET = ipaddress.ip_network("198.18.0.0/16")  # RFC 2544 benchmarking range
NET1_GATEWAY = "198.18.0.1"
ETH0_SUBNET = "10.42.0.0/20"  # 4094 addresses: room for every pod of a run at once
ETH0_GATEWAY = "10.42.0.1"
HELPER_TIMEOUT = 60  # seconds, for each ip/nft helper command

# The primary's wrapper (binDir/ptp): splitnet's open fds and peak RSS while it waits for its
# primary, then the real plugin (same argv, env, stdin). One line per call, appended: lines of
# concurrent calls do not interleave (one short write each, O_APPEND).
PTP_WRAPPER = """#!/bin/sh
fds=$(ls /proc/$PPID/fd 2>/dev/null | wc -l)
hwm=$(awk '/^VmHWM:/ {{print $2}}' /proc/$PPID/status 2>/dev/null)
echo "$CNI_CONTAINERID $CNI_COMMAND $fds $hwm" >>{log}
exec {ptp} "$@"
"""


class Stop(Exception):
    """The run was interrupted (signal) or reached --max-seconds."""


STOPPING = threading.Event()  # set by a signal: no new work, running invocations are killed


def bounded(deadline, fn, *a):
    """fn(*a) unless the run is stopping or past its deadline."""
    if STOPPING.is_set() or time.monotonic() > deadline:
        raise Stop("stopping" if STOPPING.is_set() else "--max-seconds reached")
    return fn(*a)


def run_cmd(*args, check=True):
    """A helper command (ip, nft), bounded; returns its stdout."""
    out = subprocess.run(args, check=check, capture_output=True, text=True, timeout=HELPER_TIMEOUT)
    return out.stdout


def netns_inode(path):
    return os.stat(path).st_ino


class Node:
    """The node (this process's private netns), the gateway netns, the pod netns, the temp dir."""

    def __init__(self, prefix, tmp):
        self.prefix = prefix
        self.tmp = tmp
        self.cni_dir = os.path.join(tmp, "cni")  # splitnet's state and lock files
        self.ipam_dir = os.path.join(tmp, "ipam")  # host-local's dataDir
        self.bin_dir = os.path.join(tmp, "bin")  # the ptp wrapper only
        self.fd_log = os.path.join(tmp, "fdprobe.log")
        self.gw = f"{prefix}-gw"
        self.netns = set()  # every named netns we created and have not deleted yet
        self.lock = threading.Lock()
        self.base_links = set()
        self.helpers = set()  # pids of the benchmark's own helpers (the stand-in API server)

    def add_netns(self, name):
        with self.lock:
            self.netns.add(name)  # registered first: deleted on exit even if `add` half-failed
        run_cmd("ip", "netns", "add", name)
        run_cmd("ip", "-n", name, "link", "set", "lo", "up")

    def del_netns(self, name):
        for pid in run_cmd("ip", "netns", "pids", name, check=False).split():
            kill_pid(int(pid))
        run_cmd("ip", "netns", "del", name, check=False)
        with self.lock:
            self.netns.discard(name)

    def setup(self):
        for d in (self.cni_dir, self.ipam_dir, self.bin_dir):
            os.mkdir(d)
        wrapper = os.path.join(self.bin_dir, "ptp")
        with open(wrapper, "w") as f:
            f.write(PTP_WRAPPER.format(log=self.fd_log, ptp=os.path.join(REFERENCE_DIR, "ptp")))
        os.chmod(wrapper, 0o755)
        os.chmod(self.tmp, 0o755)
        run_cmd("ip", "link", "set", "lo", "up")
        # VPN segment: the macvlan master vpn0 is the node end of a veth into the gateway.
        self.add_netns(self.gw)
        run_cmd("ip", "link", "add", "vpn0", "type", "veth", "peer", "name", "gw0", "netns",
                self.gw)
        run_cmd("ip", "-n", self.gw, "addr", "add", f"{NET1_GATEWAY}/{NET1_SUBNET.prefixlen}",
                "dev", "gw0")
        run_cmd("ip", "link", "set", "vpn0", "up")
        run_cmd("ip", "-n", self.gw, "link", "set", "gw0", "up")
        self.base_links = set(self.links())

    def links(self):
        return [link["ifname"] for link in json.loads(run_cmd("ip", "-j", "link", "show"))]

    def pod_veths(self):
        return sorted(set(self.links()) - self.base_links)

    def our_netns(self):
        return sorted(n.split()[0] for n in run_cmd("ip", "netns", "list").splitlines()
                      if n.startswith(self.prefix))

    def processes(self):
        """Pids (other than ours) inside our node netns or any netns we created."""
        inodes = {netns_inode("/proc/self/ns/net")}
        with self.lock:
            names = list(self.netns)
        for name in names:
            try:
                inodes.add(netns_inode(f"/run/netns/{name}"))
            except OSError:
                pass
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid() or int(entry) in self.helpers:
                continue
            try:
                if netns_inode(f"/proc/{entry}/ns/net") in inodes:
                    pids.append(int(entry))
            except OSError:
                pass
        return pids

    def files(self):
        """Counts of files under cniDir (state, locks, other) and the host-local dataDir."""
        state = locks = other = 0
        for _, _, names in os.walk(self.cni_dir):
            for n in names:
                if n.endswith(".json"):
                    state += 1
                elif n.endswith(".lock"):
                    locks += 1
                elif n.startswith("outcomes.log"):
                    pass  # the node agent's metrics input, bounded (agent/outcome_log.hpp)
                else:
                    other += 1
        ipam = leases = 0
        for _, _, names in os.walk(self.ipam_dir):
            for n in names:
                ipam += 1
                if n != "lock" and not n.startswith("last_reserved_ip"):
                    leases += 1
        return {"state": state, "locks": locks, "cni_other": other, "ipam_files": ipam,
                "leases": leases}

    def sample(self):
        s = self.files()
        s["veths"] = len(self.pod_veths())
        s["pod_netns"] = len([n for n in self.our_netns() if n != self.gw])
        s["procs"] = len(self.processes())
        return s

    def teardown(self):
        for pid in self.processes():
            kill_pid(pid)
        with self.lock:
            names = list(self.netns)
        for name in names:
            self.del_netns(name)


def kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Runner:
    """Runs splitnet through the measuring launcher, bounded; kills what is still running."""

    def __init__(self, launcher, splitnet, timeout):
        self.launcher = launcher
        self.splitnet = splitnet
        self.timeout = timeout
        self.running = set()  # launcher pids (each leads its own process group)
        self.lock = threading.Lock()

    def kill_all(self):
        STOPPING.set()
        with self.lock:
            pids = list(self.running)
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run(self, env, stdin_bytes, stderr_fd):
        """Returns dict(rc, wall, cpu, rss, out, timed_out). rss: KiB, peak of splitnet and the
        children it waited for (wait4 in the launcher, see macvlan_add_del.py)."""
        if STOPPING.is_set():
            raise Stop("stopping")
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        rep_r, rep_w = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
                   (os.POSIX_SPAWN_DUP2, stderr_fd, 2), (os.POSIX_SPAWN_DUP2, rep_w, 3)]
        with self.lock:  # registered before a signal could need to kill it
            pid = os.posix_spawn(self.launcher, [self.launcher, self.splitnet], env,
                                 file_actions=actions, setpgroup=0)
            self.running.add(pid)
        for fd in (in_r, out_w, rep_w):
            os.close(fd)
        try:
            os.write(in_w, stdin_bytes)  # a few KiB: fits the pipe buffer
            os.close(in_w)
            deadline = time.monotonic() + self.timeout
            out, report, timed_out = bytearray(), bytearray(), False
            open_fds = {out_r: out, rep_r: report}
            while open_fds:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    os.killpg(pid, signal.SIGKILL)
                    break
                ready, _, _ = select.select(list(open_fds), [], [], left)
                for fd in ready:
                    chunk = os.read(fd, 65536)
                    if chunk:
                        open_fds[fd].extend(chunk)
                    else:
                        del open_fds[fd]
            os.waitpid(pid, 0)
        finally:
            with self.lock:
                self.running.discard(pid)
            for fd in (out_r, rep_r):
                os.close(fd)
        fields = report.decode().split()
        if timed_out or len(fields) != 4:
            return {"rc": None, "wall": None, "cpu": None, "rss": None, "out": bytes(out),
                    "timed_out": timed_out}
        return {"rc": int(fields[0]), "wall": float(fields[1]), "cpu": float(fields[2]),
                "rss": int(fields[3]), "out": bytes(out), "timed_out": False}


def meta_config(node, net1_address):
    primary = {"cniVersion": "1.0.0", "name": "cluster", "type": "ptp", "ipMasq": False,
               "ipam": {"type": "host-local", "dataDir": node.ipam_dir,
                        "ranges": [[{"subnet": ETH0_SUBNET, "gateway": ETH0_GATEWAY}]],
                        "routes": [{"dst": "0.0.0.0/0"}]}}
    vpn = {"cniVersion": "1.0.0", "name": "vpn", "type": "macvlan", "master": "vpn0",
           "mode": "bridge",
           "ipam": {"type": "static", "addresses": [
               {"address": f"{net1_address}/{NET1_SUBNET.prefixlen}", "gateway": NET1_GATEWAY}]},
           "egress": {"gateway": NET1_GATEWAY, "keep": ["cluster"], "ipv6": "block",
                      "probeGateway": "require", "probeConflict": True}}
    return {"cniVersion": "1.0.0", "name": "splitnet-load", "type": "splitnet",
            "cniDir": node.cni_dir, "binDir": node.bin_dir, "logLevel": "warn",
            "clusterCIDRs": ["10.42.0.0/16", "10.43.0.0/16"], "delegates": [primary, vpn]}


def net1_address(index):
    """A distinct static address per pod: 198.18.0.10 onwards (.1 is the gateway)."""
    address = NET1_SUBNET.network_address + 10 + index
    if address >= NET1_SUBNET.broadcast_address:
        raise ValueError("too many pods for the net1 subnet")
    return str(address)


class Pod:
    def __init__(self, node, index, cycle=0):
        self.index = index
        self.name = f"{node.prefix}-pod{index}-{cycle}"
        self.container_id = f"load-{index}-{cycle}-{secrets.token_hex(4)}"
        self.net1 = net1_address(index)
        self.conf = json.dumps(meta_config(node, self.net1)).encode()
        self.result = None
        self.created = False  # its netns exists (DEL and the netns deletion are then due)

    def env(self, command):
        e = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
        e.update({"CNI_COMMAND": command, "CNI_CONTAINERID": self.container_id,
                  "CNI_NETNS": f"/run/netns/{self.name}", "CNI_IFNAME": "eth0",
                  "CNI_PATH": REFERENCE_DIR})
        return e

    def eth0_ips(self):
        r = self.result or {}
        names = [i.get("name") for i in r.get("interfaces", [])]
        return [ip["address"].split("/")[0] for ip in r.get("ips", [])
                if ip.get("interface") is not None and names[ip["interface"]] == "eth0"]

    def kernel_addresses(self):
        """{ifname: [IPv4 address, ...]} in the pod netns, lo left out."""
        out = json.loads(run_cmd("ip", "-n", self.name, "-4", "-j", "addr", "show"))
        return {link["ifname"]: [a["local"] for a in link.get("addr_info", [])]
                for link in out if link["ifname"] != "lo"}

    def links(self):
        out = json.loads(run_cmd("ip", "-n", self.name, "-j", "link", "show"))
        return sorted(link["ifname"] for link in out)


class Stats:
    """Per-invocation figures and failures, shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {"ADD": [], "DEL": []}  # (sequence, wall, cpu, rss)
        self.failures = []
        self.sequence = 0

    def record(self, verb, pod, res):
        ok = (res["rc"] == 0 and not res["timed_out"])
        doc = None
        if ok:
            try:
                doc = json.loads(res["out"]) if res["out"].strip() else {}
            except ValueError:
                ok = False
        with self.lock:
            self.sequence += 1
            if ok:
                self.calls[verb].append((self.sequence, res["wall"], res["cpu"], res["rss"]))
            else:
                why = "timed out (killed)" if res["timed_out"] else f"exit {res['rc']}"
                self.failures.append(f"{verb} {pod.container_id}: {why}: "
                                     f"{res['out'][:300].decode(errors='replace')}")
        return doc if ok else None

    def fail(self, text):
        with self.lock:
            self.failures.append(text)


def add_pod(node, runner, stats, pod, stderr_fd):
    pod.created = True
    try:
        node.add_netns(pod.name)
    except subprocess.SubprocessError as e:
        stats.fail(f"cannot create netns {pod.name}: {e}")
        return False
    pod.result = stats.record("ADD", pod, runner.run(pod.env("ADD"), pod.conf, stderr_fd))
    return pod.result is not None


def del_pod(node, runner, stats, pod, stderr_fd):
    """DEL (also after a failed ADD: DEL is idempotent), checks that the pod netns holds only lo,
    then deletes the netns."""
    if not pod.created:
        return True
    try:
        conf = json.loads(pod.conf)
        if pod.result:
            conf["prevResult"] = pod.result
        ok = stats.record("DEL", pod, runner.run(pod.env("DEL"), json.dumps(conf).encode(),
                                                  stderr_fd)) is not None
        left = pod.links()
        if left != ["lo"]:
            stats.fail(f"after DEL, pod {pod.name} still has links {left}")
            ok = False
        return ok
    except subprocess.SubprocessError as e:
        stats.fail(f"checking pod {pod.name} after DEL: {e}")
        return False
    finally:
        node.del_netns(pod.name)


def fd_probe(node):
    """{(container_id, verb): (splitnet fds, splitnet VmHWM KiB)} from the ptp wrapper's log."""
    seen = {}
    try:
        with open(node.fd_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit():
                    seen[(parts[0], parts[1])] = (int(parts[2]), int(parts[3]))
    except FileNotFoundError:
        pass
    return seen


def median(values):
    return statistics.median(values) if values else float("nan")


def check_nothing_left(node, stats, report):
    after = node.sample()
    report(f"after DEL: {json.dumps(after)}")
    for key in ("state", "leases", "veths", "pod_netns", "procs", "cni_other"):
        if after[key]:
            stats.fail(f"left after DEL: {key} = {after[key]}")
    if after["locks"]:
        stats.fail(f"left after DEL: {after['locks']} lock file(s) in cniDir "
                   "(one per container, never removed)")
    return after


def run_pods(args, node, runner, stats, stderr_fd, deadline, report):
    pods = [Pod(node, i) for i in range(args.pods)]
    workers = args.parallel or args.pods
    report(f"{args.pods} pods, {workers} at a time: ADD")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: bounded(deadline, add_pod, node, runner, stats, p, stderr_fd),
                      pods))
    report(f"ADD of {args.pods} pods took {time.monotonic() - t0:.1f} s; "
           f"{sum(1 for p in pods if p.result is not None)} succeeded")
    during = node.sample()
    report(f"while up: {json.dumps(during)}")

    # Unique IPs: eth0 from the results, each pod's kernel addresses equal to its result.
    eth0 = [ip for p in pods for ip in p.eth0_ips()]
    if len(eth0) != len(set(eth0)):
        stats.fail(f"duplicate eth0 addresses: {len(eth0) - len(set(eth0))}")
    def kernel_addresses(pod):
        try:
            return pod.kernel_addresses()
        except subprocess.SubprocessError:
            return {}

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, 16)) as pool:
        kernel = list(pool.map(kernel_addresses, pods))
    mismatched = [p.name for p, k in zip(pods, kernel)
                  if p.result is not None and k != {"eth0": p.eth0_ips(), "net1": [p.net1]}]
    if mismatched:
        stats.fail(f"{len(mismatched)} pod(s) whose kernel addresses differ from their result, "
                   f"e.g. {mismatched[0]}")
    all_kernel = [a for k in kernel for addrs in k.values() for a in addrs]
    report(f"unique IPs: {len(set(eth0))} distinct eth0 addresses for {len(pods)} pods; "
           f"{len(all_kernel)} addresses in the pods' kernels, {len(set(all_kernel))} distinct; "
           f"{len(pods) - len(mismatched)} pods match their result")
    if len(all_kernel) != len(set(all_kernel)):
        stats.fail("duplicate addresses across pods in the kernel")

    report(f"{args.pods} pods, {workers} at a time: DEL")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: bounded(deadline, del_pod, node, runner, stats, p, stderr_fd),
                      pods))
    report(f"DEL of {args.pods} pods took {time.monotonic() - t0:.1f} s")
    for verb in ("ADD", "DEL"):
        seen = [v for (_, v_verb), v in fd_probe(node).items() if v_verb == verb]
        if seen:
            report(f"{verb}: splitnet's open fds while its primary runs: min "
                   f"{min(v[0] for v in seen)} max {max(v[0] for v in seen)}; its VmHWM KiB "
                   f"median {median([v[1] for v in seen]):.0f} max {max(v[1] for v in seen)} "
                   f"({len(seen)} calls)")
    return [during, check_nothing_left(node, stats, report)]


def run_soak(args, node, runner, stats, stderr_fd, deadline, report):
    every = args.sample_every or max(1, args.cycles // 20)
    workers = args.parallel or 1
    samples = []
    header = (f"{'cycle':>6} {'s':>6} {'state':>5} {'locks':>5} {'ipam':>5} {'lease':>5} "
              f"{'veth':>4} {'netns':>5} {'procs':>5} | {'ADD ms':>7} {'RSS KiB':>8} "
              f"{'sn fds':>6} {'sn HWM':>7} | {'DEL ms':>7} {'RSS KiB':>8}")
    report(f"{args.cycles} cycles, {workers} at a time, sampled every {every} cycles")
    report(header)
    t0 = time.monotonic()
    done = 0
    slots = list(range(workers))  # a pod index (net1 address) per concurrent slot

    def cycle(slot, n):
        pod = Pod(node, slot, n)
        try:
            add_pod(node, runner, stats, pod, stderr_fd)
        finally:
            del_pod(node, runner, stats, pod, stderr_fd)

    while done < args.cycles:
        if time.monotonic() > deadline:
            report(f"--max-seconds reached after {done} cycles")
            break
        batch = min(every, args.cycles - done)
        seq_before = stats.sequence
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = []
            for k in range(batch):
                futures.append(pool.submit(bounded, deadline, cycle, slots[k % workers],
                                           done + k))
                if len(futures) == workers:  # one cycle per slot at a time
                    [f.result() for f in futures]
                    futures = []
            [f.result() for f in futures]
        done += batch
        s = node.sample()
        s["cycle"] = done
        window = {v: [c for c in stats.calls[v] if c[0] > seq_before] for v in stats.calls}
        probe = fd_probe(node)
        s["add_ms"] = median([c[1] * 1e3 for c in window["ADD"]])
        s["add_rss"] = median([c[3] for c in window["ADD"]])
        s["del_ms"] = median([c[1] * 1e3 for c in window["DEL"]])
        s["del_rss"] = median([c[3] for c in window["DEL"]])
        recent = [v for (cid, verb), v in probe.items() if verb == "ADD"]
        s["sn_fds"] = max([v[0] for v in recent], default=0)
        s["sn_hwm"] = median([v[1] for v in recent[-batch:]])
        node_fd_log_rotate(node)
        samples.append(s)
        report(f"{done:>6} {time.monotonic() - t0:>6.0f} {s['state']:>5} {s['locks']:>5} "
               f"{s['ipam_files']:>5} {s['leases']:>5} {s['veths']:>4} {s['pod_netns']:>5} "
               f"{s['procs']:>5} | {s['add_ms']:>7.1f} {s['add_rss']:>8.0f} {s['sn_fds']:>6} "
               f"{s['sn_hwm']:>7.0f} | {s['del_ms']:>7.1f} {s['del_rss']:>8.0f}")
    if done:
        flat_check(samples, stats, report)
    samples.append(check_nothing_left(node, stats, report))
    return samples


def node_fd_log_rotate(node):
    """Each sample reads only the wrapper lines of its own window."""
    try:
        os.unlink(node.fd_log)
    except FileNotFoundError:
        pass


def flat_check(samples, stats, report):
    """First sample against last: counts on disk and in the kernel must not grow; per-invocation
    RSS and fds must not grow either (RSS with a 10% margin for allocator noise)."""
    first, last = samples[0], samples[-1]
    lines = []
    for key, margin in (("state", 0), ("locks", 0), ("cni_other", 0), ("ipam_files", 0),
                        ("leases", 0), ("veths", 0), ("pod_netns", 0), ("procs", 0),
                        ("sn_fds", 0), ("add_rss", 0.10), ("del_rss", 0.10), ("sn_hwm", 0.10)):
        a, b = first[key], last[key]
        grew = b > a * (1 + margin) if margin else b > a
        lines.append(f"{key} {a:g} -> {b:g}{'  GROWING' if grew else ''}")
        if grew:
            stats.fail(f"growing over the soak: {key} {a:g} (cycle {first['cycle']}) -> {b:g} "
                       f"(cycle {last['cycle']})")
    report("flat over the soak (first sample -> last): " + "; ".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True, help="path of the splitnet binary")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--pods", type=int, help="pods ADDed and DELed concurrently")
    mode.add_argument("--cycles", type=int, help="ADD+DEL cycles (soak)")
    ap.add_argument("--parallel", type=int, default=0,
                    help="invocations at a time (default: all pods; 1 for --cycles)")
    ap.add_argument("--sample-every", type=int, default=0,
                    help="soak: cycles between samples (default: cycles/20)")
    ap.add_argument("--timeout", type=float, default=120, help="bound of one invocation, s")
    ap.add_argument("--max-seconds", type=float, default=7200,
                    help="bound of the whole run: no new pod or cycle after it")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    count = args.pods if args.pods is not None else args.parallel or 1
    if count < 1 or (args.cycles is not None and args.cycles < 1):
        sys.exit("--pods / --cycles must be at least 1")
    net1_address(count - 1)  # fails early when the subnet cannot hold them
    splitnet = os.path.abspath(args.splitnet)
    for plugin in ("ptp", "host-local"):
        if not os.access(os.path.join(REFERENCE_DIR, plugin), os.X_OK):
            sys.exit(f"missing {REFERENCE_DIR}/{plugin}: apt-get install containernetworking-plugins")

    runner = None

    def on_signal(signum, _frame):
        if runner:
            runner.kill_all()  # before unwinding: the worker pools wait for running calls
        STOPPING.set()
        raise Stop(f"signal {signum}")

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)

    unshare_net()  # before any thread: every worker and child runs in the private node netns
    prefix = f"splitnet-load-{secrets.token_hex(3)}"
    tmp = tempfile.mkdtemp(prefix="splitnet-load-")
    node = Node(prefix, tmp)
    started = time.monotonic()

    def report(text):
        print(f"[{time.monotonic() - started:7.1f}s] {text}", flush=True)

    stats = Stats()
    status = 1
    try:
        node.setup()
        launcher = compile_c(tmp, "launcher", LAUNCHER_C)
        runner = Runner(launcher, splitnet, args.timeout)
        report(f"splitnet {splitnet}; node: private netns; namespaces {prefix}-*; "
               f"temp {tmp}; eth0 ptp + host-local {ETH0_SUBNET}; net1 macvlan + static "
               f"{NET1_SUBNET} + egress (gateway {NET1_GATEWAY}, probeGateway require, "
               f"probeConflict)")
        deadline = started + args.max_seconds
        with open(os.path.join(tmp, "stderr.log"), "wb") as errlog:
            if args.pods is not None:
                run_pods(args, node, runner, stats, errlog.fileno(), deadline, report)
            else:
                run_soak(args, node, runner, stats, errlog.fileno(), deadline, report)
        print_summary(stats, report)
        status = 0 if not stats.failures else 1
    except Stop as e:
        report(f"stopped: {e or 'interrupted'}")
    finally:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)  # cleanup is not interrupted half-way
        if runner:
            runner.kill_all()
        node.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
        left = [n for n in run_cmd("ip", "netns", "list").splitlines() if n.startswith(prefix)]
        report(f"cleaned up: namespaces {prefix}-* left: {len(left)}; temp dir removed")
    sys.exit(status)


def print_summary(stats, report):
    for verb in ("ADD", "DEL"):
        calls = stats.calls[verb]
        if not calls:
            report(f"{verb}: no successful call")
            continue
        walls = sorted(c[1] * 1e3 for c in calls)
        rss = [c[3] for c in calls]
        report(f"{verb}: {len(calls)} succeeded; wall ms median {median(walls):.1f}, "
               f"p95 {walls[int(0.95 * (len(walls) - 1))]:.1f}, max {walls[-1]:.1f}; "
               f"peak RSS KiB (splitnet + waited children) min {min(rss)} max {max(rss)}")
    if stats.failures:
        report(f"FAILED checks ({len(stats.failures)}):")
        for f in stats.failures[:50]:
            report(f"  {f}")
        if len(stats.failures) > 50:
            report(f"  ... and {len(stats.failures) - 50} more")
    else:
        report("all checks passed")


if __name__ == "__main__":
    main()
