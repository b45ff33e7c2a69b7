#!/usr/bin/env python3
"""ADD+DEL cycles of one macvlan + static attachment, alternating in one run between

  (a) Debian's reference plugins  (/usr/lib/cni/macvlan, which execs /usr/lib/cni/static)
  (b) splitnet's binary, native path (meta config with the macvlan conf as its only delegate;
      CNI_PATH holds no plugin at all, so nothing can be exec'd)
  (c) the kernel floor: `ip link add ... type macvlan` / `ip link del` of the same link
  (d) the exec floor: an empty static C program (`int main(void) { return 0; }`), the least any
      exec'd plugin can cost on this machine; no ratio against the reference can exceed
      reference / floor

and printing medians (and ratios) of wall time, CPU time (user+sys of the process and the
children it waited for, from wait4) and peak RSS.

Not a test: run as root, e.g.
  sudo python3 bench/macvlan_add_del.py --splitnet build-release/splitnet --cycles 100

Network safety: the script moves itself into a private network namespace (unshare), creates a
veth master there, and one uniquely named pod netns (splitnet-bench-<random>) that is deleted on
exit. Nothing in the machine's own netns is touched.
"""

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile

CLONE_NEWNET = 0x40000000


def unshare_net():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        sys.exit(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)} (run as root)")


@contextlib.contextmanager
def master_and_pod(kind):
    """In a private netns (unshare_net): a veth mst0 (up) to be a macvlan master, a pod netns
    splitnet-<kind>-<random> and a temp dir; yields (pod, tmp) and removes both on exit."""
    unshare_net()
    subprocess.run(["ip", "link", "add", "mst0", "type", "veth", "peer", "name", "mst0p"],
                   check=True)
    subprocess.run(["ip", "link", "set", "mst0", "up"], check=True)
    pod = f"splitnet-{kind}-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", pod], check=True)
    tmp = tempfile.mkdtemp(prefix=f"splitnet-{kind}-")
    try:
        yield pod, tmp
    finally:
        subprocess.run(["ip", "netns", "del", pod], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def sh(*args):
    subprocess.run(args, check=True)


# A tiny launcher measures each command: a child of the (large) Python process inherits Python's
# RSS high-water mark through fork+exec (ru_maxrss would read ~20 MiB for everything), while a
# child forked by this small program starts from the launcher's few hundred KiB. It also times
# fork..wait4 itself, leaving Python's own spawn cost out of the wall time.
LAUNCHER_C = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char** argv) {
    if (argc < 2) return 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) { close(3); execvp(argv[1], argv + 1); _exit(127); }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) return 3;
    clock_gettime(CLOCK_MONOTONIC, &b);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    dprintf(3, "%d %.9f %.9f %ld\n", rc,
            (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
            (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
            ru.ru_maxrss);
    return 0;
}
"""


def compile_c(tmp, name, source, *flags):
    src = os.path.join(tmp, f"{name}.c")
    exe = os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(source)
    subprocess.run(["cc", "-O2", *flags, "-o", exe, src], check=True)
    return exe


def timed(launcher, argv, env, stdin_bytes, stderr_file):
    """Runs one command; returns (wall_s, cpu_s, maxrss_kib, rc, stdout). CPU and RSS cover the
    command and the children it waited for (e.g. macvlan's exec of static)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    rep_r, rep_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
               (os.POSIX_SPAWN_DUP2, stderr_file.fileno(), 2),
               (os.POSIX_SPAWN_DUP2, rep_w, 3)]
    pid = os.posix_spawn(launcher, [launcher] + argv, env, file_actions=actions)
    for fd in (in_r, out_w, rep_w):
        os.close(fd)
    os.write(in_w, stdin_bytes)  # small: fits the pipe buffer
    os.close(in_w)
    chunks = []
    while True:
        chunk = os.read(out_r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(out_r)
    report = os.read(rep_r, 4096).decode().split()
    os.close(rep_r)
    os.waitpid(pid, 0)
    out = b"".join(chunks)
    if len(report) != 4:
        sys.stderr.write(f"launcher failed for {' '.join(argv)}\n")
        return 0.0, 0.0, 0, 1, out
    rc, wall, cpu, rss = int(report[0]), float(report[1]), float(report[2]), int(report[3])
    if rc != 0:
        sys.stderr.write(f"FAILED {' '.join(argv)}: rc={rc}: {out.decode()}\n")
    return wall, cpu, rss, rc, out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True, help="path of the splitnet binary")
    ap.add_argument("--reference-dir", default="/usr/lib/cni")
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--dual-stack", action="store_true", help="add an IPv6 address + gateway")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    splitnet = os.path.abspath(args.splitnet)

    unshare_net()
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "mst0", "type", "veth", "peer", "name", "mst0p")
    sh("ip", "link", "set", "mst0", "up")
    sh("ip", "link", "set", "mst0p", "up")
    pod = f"splitnet-bench-{secrets.token_hex(4)}"
    sh("ip", "netns", "add", pod)
    tmp = tempfile.mkdtemp(prefix="splitnet-bench-")
    try:
        run(args, splitnet, pod, tmp)
    finally:
        subprocess.run(["ip", "netns", "del", pod], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, splitnet, pod, tmp):
    netns = f"/run/netns/{pod}"
    empty_path = os.path.join(tmp, "empty-cni-path")
    os.mkdir(empty_path)
    cni_dir = os.path.join(tmp, "cni-dir")
    os.mkdir(cni_dir)

    addresses = [{"address": "198.51.100.10/24", "gateway": "198.51.100.1"}]
    routes = [{"dst": "203.0.113.0/24"}]
    if args.dual_stack:
        addresses.append({"address": "2001:db8::10/64", "gateway": "2001:db8::1"})
        routes.append({"dst": "2001:db8:99::/48"})
    macvlan = {"cniVersion": "1.0.0", "name": "bench-net", "type": "macvlan", "master": "mst0",
               "mode": "bridge",
               "ipam": {"type": "static", "addresses": addresses, "routes": routes}}
    meta = {"cniVersion": "1.0.0", "name": "bench", "type": "splitnet", "cniDir": cni_dir,
            "delegates": [macvlan]}

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}

    def env(command, cni_path):
        e = dict(base_env)
        e.update({"CNI_COMMAND": command, "CNI_CONTAINERID": "bench-ctr", "CNI_NETNS": netns,
                  "CNI_IFNAME": "net1", "CNI_PATH": cni_path})
        return e

    empty_static = compile_c(tmp, "empty", "int main(void) { return 0; }\n", "-static")
    ref_bin = os.path.join(args.reference_dir, "macvlan")
    macvlan_bytes = json.dumps(macvlan).encode()
    meta_bytes = json.dumps(meta).encode()
    variants = {
        "a_reference": {
            "ADD": ([ref_bin], env("ADD", args.reference_dir), macvlan_bytes),
            "DEL": ([ref_bin], env("DEL", args.reference_dir), macvlan_bytes),
        },
        "b_splitnet": {
            "ADD": ([splitnet], env("ADD", empty_path), meta_bytes),
            "DEL": ([splitnet], env("DEL", empty_path), meta_bytes),
        },
        "c_ip_link": {
            "ADD": (["ip", "link", "add", "link", "mst0", "name", "net1", "netns", pod, "type",
                     "macvlan", "mode", "bridge"], base_env, b""),
            "DEL": (["ip", "-n", pod, "link", "del", "net1"], base_env, b""),
        },
        "d_exec_floor": {
            "ADD": ([empty_static], base_env, b""),
            "DEL": ([empty_static], base_env, b""),
        },
    }
    samples = {(v, op): [] for v in variants for op in ("ADD", "DEL")}
    failures = 0
    errlog = open(os.path.join(tmp, "stderr.log"), "wb")
    launcher = compile_c(tmp, "launcher", LAUNCHER_C)
    for cycle in range(args.warmup + args.cycles):
        for name, ops in variants.items():
            for op in ("ADD", "DEL"):
                argv, e, stdin_bytes = ops[op]
                wall, cpu, rss, rc, out = timed(launcher, argv, e, stdin_bytes, errlog)
                if rc != 0:
                    failures += 1
                    if op == "ADD":
                        timed(launcher, *ops["DEL"], errlog)  # keep the next cycle clean
                    continue
                if op == "ADD" and name == "b_splitnet" and cycle == 0:
                    print(f"splitnet ADD result: {out.decode().strip()}")
                if cycle >= args.warmup:
                    samples[(name, op)].append((wall, cpu, rss))

    def med(name, op, idx):
        values = [s[idx] for s in samples[(name, op)]]
        return statistics.median(values) if values else float("nan")

    print(f"\n{args.cycles} cycles (+{args.warmup} warm-up), "
          f"{'dual-stack' if args.dual_stack else 'IPv4'} macvlan+static, failures: {failures}")
    print(f"{'variant':<14}{'op':<5}{'wall ms':>10}{'cpu ms':>10}{'maxrss KiB':>12}")
    for name in variants:
        for op in ("ADD", "DEL"):
            print(f"{name:<14}{op:<5}{med(name, op, 0) * 1e3:>10.2f}"
                  f"{med(name, op, 1) * 1e3:>10.2f}{med(name, op, 2):>12.0f}")
    print("\nratios (medians)")
    for op in ("ADD", "DEL"):
        for label, idx in (("wall", 0), ("cpu", 1), ("maxrss", 2)):
            a, b, c, d = (med(n, op, idx)
                          for n in ("a_reference", "b_splitnet", "c_ip_link", "d_exec_floor"))
            print(f"{op} {label:<7} reference/splitnet = {a / b:6.2f}x   "
                  f"splitnet/ip-link = {b / c:6.2f}x   "
                  f"best possible (reference/exec floor) = {a / d:6.2f}x")
    print("\nabove the exec floor (what each plugin costs beyond being started)")
    for op in ("ADD", "DEL"):
        for label, idx in (("wall", 0), ("cpu", 1)):
            a, b, d = (med(n, op, idx) for n in ("a_reference", "b_splitnet", "d_exec_floor"))
            print(f"{op} {label:<7} reference {(a - d) * 1e3:7.2f} ms   "
                  f"splitnet {(b - d) * 1e3:7.2f} ms   ratio {(a - d) / (b - d):6.2f}x")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    main()
