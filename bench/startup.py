#!/usr/bin/env python3
"""splitnet's own process start: page faults and CPU time of `VERSION` and of a
minimal ADD (the native macvlan + static path, nothing exec'd, as bench/macvlan_add_del.py's
b_splitnet) and its DEL, against an empty static C program, alternating between the binaries in
one run. With --splitnet-b a second binary (e.g. another link of the same objects) is measured
alongside.

Each run is a posix_spawn (vfork: the child does not copy this process) and a wait4; the
figures are the child's ru_minflt (page faults that needed no I/O: all of them, the binary is in
the page cache) and ru_utime + ru_stime, which the kernel derives from the task's precise
runtime (it is what perf's task-clock counts, plus the exec itself). Medians.

Not a test. Run as root (ADD/DEL need a netns), e.g.
  sudo python3 bench/startup.py --splitnet build/splitnet --runs 200
Cross-check with perf, when the machine has it:
  CNI_COMMAND=VERSION perf stat -r 200 -e task-clock,page-faults build/splitnet </dev/null
Safety: as bench/macvlan_add_del.py (a private netns, one uniquely named pod netns).
"""

import argparse
import json
import os
import statistics
import sys

from macvlan_add_del import compile_c, master_and_pod


def spawn(argv, env, stdin_bytes):
    """(rc, minflt, cpu_s) of one run."""
    in_r, in_w = os.pipe()
    null = os.open(os.devnull, os.O_WRONLY)
    pid = os.posix_spawn(argv[0], argv, env,
                         file_actions=[(os.POSIX_SPAWN_DUP2, in_r, 0),
                                       (os.POSIX_SPAWN_DUP2, null, 1),
                                       (os.POSIX_SPAWN_DUP2, null, 2)])
    os.close(in_r)
    os.close(null)
    os.write(in_w, stdin_bytes)
    os.close(in_w)
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_minflt, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True)
    ap.add_argument("--splitnet-b")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    binaries = {"A": os.path.abspath(args.splitnet)}
    if args.splitnet_b:
        binaries["B"] = os.path.abspath(args.splitnet_b)

    with master_and_pod("startup") as (pod, tmp):
        return run(args, binaries, pod, tmp)


def run(args, binaries, pod, tmp):
    empty = compile_c(tmp, "empty", "int main(void) { return 0; }\n", "-static")
    empty_path = os.path.join(tmp, "empty-cni-path")
    os.mkdir(empty_path)
    macvlan = {"cniVersion": "1.0.0", "name": "bench-net", "type": "macvlan", "master": "mst0",
               "mode": "bridge", "ipam": {"type": "static", "addresses": [
                   {"address": "198.51.100.10/24", "gateway": "198.51.100.1"}]}}
    meta = json.dumps({"cniVersion": "1.0.0", "name": "bench", "type": "splitnet",
                       "cniDir": os.path.join(tmp, "cni"), "delegates": [macvlan]}).encode()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}

    def env(command):
        e = dict(base)
        e.update({"CNI_COMMAND": command, "CNI_CONTAINERID": "startup", "CNI_IFNAME": "net1",
                  "CNI_NETNS": f"/run/netns/{pod}", "CNI_PATH": empty_path})
        return e

    rows = [("empty static", None, [empty], base, b"")]
    for label, path in binaries.items():
        rows += [(f"{label} VERSION", None, [path], env("VERSION"), b""),
                 (f"{label} ADD", f"{label} DEL", [path], env("ADD"), meta)]
    samples = {}
    failures = 0
    for _ in range(args.runs):
        for label, del_label, argv, e, stdin_bytes in rows:
            rc, flt, cpu = spawn(argv, e, stdin_bytes)
            failures += rc != 0
            samples.setdefault(label, []).append((flt, cpu))
            if del_label:
                rc, flt, cpu = spawn(argv, env("DEL"), stdin_bytes)
                failures += rc != 0
                samples.setdefault(del_label, []).append((flt, cpu))
    print(f"{args.runs} runs each, alternating; failures: {failures}")
    for label, path in binaries.items():
        print(f"{label}: {path} ({os.path.getsize(path)} bytes)")
    print(f"{'':<16}{'faults':>8}{'CPU ms':>9}")
    for label, values in samples.items():
        print(f"{label:<16}{statistics.median(v[0] for v in values):>8.0f}"
              f"{statistics.median(v[1] for v in values) * 1e3:>9.3f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
