#!/usr/bin/env python3
"""The kernel's floor under a pod's DEL: how long deleting the primary's veth takes alone, the
macvlan alone, the two one after the other, at the same time, and with the veth's deletion
started a few ms after the macvlan's (each deletion an `ip link del`), alternating, in one
private network namespace.

A pod DEL of splitnet deletes those two links (the primary's exec'd plugin one, splitnet's
native code the other); with "overlap" at the same time. If the pair costs about as much as the
two one after the other however they are started, the second link's deletion is a floor that
running side by side cannot remove.

--where samples /proc/PID/wchan of each `ip link del` of a link alone, as fast as it can, and
prints where its wall time goes (the kernel function it sleeps in; "running" when it does not
sleep). It shows why the pair costs what it does: most of a link deletion is spent in
rcu_barrier(), which netdev_run_todo() calls after every unregistration, and a second
rcu_barrier() that starts while one is under way waits for that one and then runs in full.

Not a test: run as root, e.g.
  sudo python3 bench/link_delete_floor.py --cycles 50
  sudo python3 bench/link_delete_floor.py --cycles 20 --where
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from macvlan_add_del import master_and_pod


def make_links(pod):
    subprocess.run(["ip", "link", "add", "vpod", "type", "veth", "peer", "name", "eth0",
                    "netns", pod], check=True)
    subprocess.run(["ip", "link", "add", "net1", "link", "mst0", "type", "macvlan", "mode",
                    "bridge"], check=True)
    subprocess.run(["ip", "link", "set", "net1", "netns", pod], check=True)


def delete(pod, names, offset_ms):
    """Wall time in ms of deleting the links NAMES (in the pod netns): one after the other when
    OFFSET_MS is None, else each started OFFSET_MS after the one before it, without waiting."""
    commands = [["ip", "-n", pod, "link", "del", n] for n in names]
    t0 = time.monotonic()
    if offset_ms is None:
        for c in commands:
            subprocess.run(c, check=True)
    else:
        started = []
        for i, c in enumerate(commands):
            if i:
                # A benchmark's stagger, not a synchronisation: the point is to start late.
                time.sleep(offset_ms / 1000)
            started.append(subprocess.Popen(c))
        for p in started:
            if p.wait() != 0:
                sys.exit("ip link del failed")
    return (time.monotonic() - t0) * 1000


def where(pod, name):
    """{wait channel: ms} over one `ip link del` of NAME, sampled in a busy loop."""
    spent = {}
    p = subprocess.Popen(["ip", "-n", pod, "link", "del", name])
    last = time.monotonic()
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/wchan") as f:
                channel = f.read().strip()
        except OSError:
            break
        now = time.monotonic()
        key = "running" if channel in ("", "0") else channel
        spent[key] = spent.get(key, 0.0) + (now - last) * 1000
        last = now
    if p.wait() != 0:
        sys.exit("ip link del failed")
    return spent


def report_where(pod, cycles):
    for name, kind in (("eth0", "veth"), ("net1", "macvlan")):
        totals = {}
        for _ in range(cycles):
            make_links(pod)
            for channel, ms in where(pod, name).items():
                totals[channel] = totals.get(channel, 0.0) + ms
            for other in ("net1", "eth0"):
                subprocess.run(["ip", "-n", pod, "link", "del", other], check=False,
                               stderr=subprocess.DEVNULL)
        whole = sum(totals.values())
        print(f"{kind} deleted alone, {cycles} times: where its wall time went")
        for channel, ms in sorted(totals.items(), key=lambda kv: -kv[1]):
            print(f"  {channel:30} {ms / cycles:7.2f} ms  {100 * ms / whole:5.1f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--where", action="store_true",
                    help="sample where a deletion waits instead of timing the variants")
    ap.add_argument("--offsets", type=float, nargs="*", default=[2, 5, 10],
                    help="also start the veth's deletion this many ms after the macvlan's")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    variants = {
        "veth alone": (["eth0"], None),
        "macvlan alone": (["net1"], None),
        "veth, then macvlan": (["eth0", "net1"], None),
        "veth and macvlan at once": (["eth0", "net1"], 0),
    }
    for offset in args.offsets:
        variants[f"macvlan, veth {offset:g} ms later"] = (["net1", "eth0"], offset)
    times = {v: [] for v in variants}
    with master_and_pod("delfloor") as (pod, _tmp):
        if args.where:
            report_where(pod, args.cycles)
            return
        for cycle in range(args.cycles):
            names = list(variants)
            shift = cycle % len(names)
            for v in names[shift:] + names[:shift]:
                make_links(pod)
                links, together = variants[v]
                times[v].append(delete(pod, links, together))
                # what a variant did not delete goes too, outside the timing
                for name in ("net1", "eth0"):
                    subprocess.run(["ip", "-n", pod, "link", "del", name], check=False,
                                   stderr=subprocess.DEVNULL)
    base = statistics.median(times["veth alone"])
    print(f"{args.cycles} cycles, alternating; wall ms (median), ratio to the veth alone")
    for v, t in times.items():
        m = statistics.median(t)
        print(f"  {v:30} {m:7.2f}  {m / base:5.2f}x")


if __name__ == "__main__":
    main()
