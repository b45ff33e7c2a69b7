#!/usr/bin/env python3
"""Writes cmake/startup-order.txt: the functions one plugin run executes (start-up and
`VERSION`, then a native macvlan + static ADD, then its DEL), as lld's --symbol-ordering-file
wants them (mangled names, one per line, start-up first). The Release static link lays them out
together so that each page fault of a plugin run maps more of them (CMakeLists.txt,
docs/benchmark.md).

Lists what valgrind's callgrind saw run (every function entered, and every callee). Regenerate
after larger changes to the ADD path; a name that no longer exists is ignored by the link, a new
function missing from the list only costs a fault. Run as root (ADD needs a netns), on a Release
static build:
  sudo python3 bench/startup_order.py --splitnet build/splitnet --out cmake/startup-order.txt

Safety: as bench/macvlan_add_del.py (a private netns, one uniquely named pod netns).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

from macvlan_add_del import master_and_pod

FN = re.compile(r"^c?fn=\(\d+\) (\S+)")


def callgrind(binary, env, stdin_bytes, out):
    subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}",
                    binary], env=env, input=stdin_bytes, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=300)
    names = []
    with open(out) as f:
        for line in f:
            m = FN.match(line)
            if m:
                names.append(m.group(1).split("'")[0])  # callgrind's 'N recursion suffix
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splitnet", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    if not shutil.which("valgrind"):
        sys.exit("needs valgrind")
    binary = os.path.abspath(args.splitnet)
    with master_and_pod("order") as (pod, tmp):
        empty_path = os.path.join(tmp, "empty-cni-path")
        os.mkdir(empty_path)
        meta = json.dumps({"cniVersion": "1.0.0", "name": "order", "type": "splitnet",
                           "cniDir": os.path.join(tmp, "cni"), "delegates": [{
                               "cniVersion": "1.0.0", "name": "net", "type": "macvlan",
                               "master": "mst0", "mode": "bridge", "ipam": {
                                   "type": "static", "addresses": [
                                       {"address": "198.51.100.10/24",
                                        "gateway": "198.51.100.1"}]}}]}).encode()
        base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
        base.update({"CNI_CONTAINERID": "order", "CNI_NETNS": f"/run/netns/{pod}",
                     "CNI_IFNAME": "net1", "CNI_PATH": empty_path})
        ordered, seen = [], set()
        for command, stdin_bytes in (("VERSION", b""), ("ADD", meta), ("DEL", meta)):
            env = dict(base, CNI_COMMAND=command)
            for name in callgrind(binary, env, stdin_bytes, os.path.join(tmp, "cg.out")):
                if name not in seen:
                    seen.add(name)
                    ordered.append(name)
        with open(args.out, "w") as f:
            f.write("\n".join(ordered) + "\n")
        print(f"{len(ordered)} functions written to {args.out}")


if __name__ == "__main__":
    main()
