#!/usr/bin/env python3
"""Where one splitnet ADD spends its wall time, phase by phase: the medians of the marks that a
build with bench/phase_probe.patch appends to $SPLITNET_PROBE_LOG, from main() on.

  git apply bench/phase_probe.patch && cmake --build build --target splitnet
  cp build/splitnet /tmp/splitnet.probe && git apply -R bench/phase_probe.patch
  SPLITNET_PROBE_LOG=/tmp/probe.log sudo -E python3 bench/pod_add_del.py \\
      --splitnet /tmp/splitnet.probe --cycles 30
  python3 bench/phase_timeline.py /tmp/probe.log

Only ADDs that took less than --max-ms are counted (the egress variant's ARP probes take
~300 ms and would only add noise). Not a test; the patch is never part of the tree.
"""

import argparse
import collections
import statistics


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("--max-ms", type=float, default=100)
    args = ap.parse_args()
    marks = collections.defaultdict(list)
    with open(args.log) as f:
        for line in f:
            pid, phase, us = line.split()
            marks[pid].append((float(us), phase))
    offsets = collections.defaultdict(list)
    runs = 0
    for events in marks.values():
        events.sort()
        phases = [p for _, p in events]
        if "plan_saved" not in phases or events[-1][0] - events[0][0] > args.max_ms * 1000:
            continue
        runs += 1
        start = events[0][0]
        seen = collections.Counter()
        for us, phase in events:
            seen[phase] += 1
            name = phase if seen[phase] == 1 else f"{phase} ({seen[phase]})"
            offsets[name].append(us - start)
    print(f"{runs} ADDs; median microseconds since main(), and since the mark before")
    before = 0.0
    for name, values in sorted(offsets.items(), key=lambda kv: statistics.median(kv[1])):
        at = statistics.median(values)
        print(f"  {name:30} {at:9.1f} {at - before:+9.1f}")
        before = at


if __name__ == "__main__":
    main()
