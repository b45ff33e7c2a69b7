#!/usr/bin/env bash
# clang-tidy over every C++ source of the tree with the checks of .clang-tidy: src/ (the library
# and main.cpp), tests/ (testutil, unit, privileged) and tests/fuzz/; the headers in include/ and
# tests/ through the sources that include them. Prints each warning once and a count per check,
# and exits non-zero on any warning (or a source clang cannot parse).
#
# The file list is the compile_commands.json of a configure-only build dir (nothing is compiled):
# clang-14 as the compiler, so the flags are ones clang understands, and no precompiled header
# (clang-tidy would need the .pch built). With the unity build (the default), the database lists
# the unity sources, so nlohmann/json, spdlog, Boost and gtest are parsed once per batch of up to
# 16 files instead of once per file. Measured on the loaded 2-core machine: the 11 unity batches
# (about 140 of the 163 sources) took 318 s of CPU in all, while one source on its own takes about
# 12 s (src/main.cpp, a fuzz harness): file by file the tree would cost some 30 min of CPU, as
# batches about 10 min (the 29 sources outside a batch included). HeaderFilterRegex in .clang-tidy covers
# the .cpp files included into a batch; warnings located in the generated batch file itself
# (bugprone-suspicious-include on its #include "x.cpp" lines) are not the tree's and are dropped.
#
# Usage: scripts/tidy.sh [REGEX]   REGEX: only the compile_commands entries whose path matches
#                                  (e.g. 'fuzz/' or 'gateway_watch'); default all.
# Environment:
#   TIDY_BUILD_DIR   default build-tidy
#   TIDY_UNITY=0     one translation unit per file: slower, but complete (misc-unused-using-decls
#                    looks at the main file only, which in a unity build is the generated batch)
#   SPLITNET_JOBS    parallel clang-tidy processes (default: nproc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${TIDY_BUILD_DIR:-build-tidy}
UNITY=${TIDY_UNITY:-1}
JOBS=${SPLITNET_JOBS:-$(nproc)}
FILTER=${1:-.}
CLANG_TIDY=clang-tidy-14

command -v "$CLANG_TIDY" >/dev/null || { echo "tidy: $CLANG_TIDY not found (scripts/install-deps.sh)" >&2; exit 1; }
command -v clang++-14 >/dev/null || { echo "tidy: clang++-14 not found (scripts/install-deps.sh)" >&2; exit 1; }

# shellcheck source=scripts/build-lib.sh
source scripts/build-lib.sh
unity=ON
[[ $UNITY == 1 ]] || unity=OFF
CC=clang-14 CXX=clang++-14 configure_build "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSPLITNET_PCH=OFF \
    -DSPLITNET_STATIC=OFF -DSPLITNET_UNITY="$unity" -DSPLITNET_BUILD_TESTS=ON -DSPLITNET_FUZZ=OFF

out=$(mktemp -d)
trap 'rm -rf -- "$out"' EXIT

# One clang-tidy per translation unit, each into its own file: DIR/N.out (diagnostics, stdout) and
# DIR/N.err (clang-tidy's own messages); a non-zero exit (a parse error) leaves DIR/N.failed.
python3 - "$BUILD/compile_commands.json" "$FILTER" >"$out/files" <<'EOF'
import json, re, sys
pattern = re.compile(sys.argv[2])
for entry in json.load(open(sys.argv[1])):
    if pattern.search(entry["file"]):
        print(entry["file"])
EOF
[[ -s $out/files ]] || { echo "tidy: no compile_commands entry matches '$FILTER'" >&2; exit 1; }
echo "tidy: $(wc -l <"$out/files") translation units, $JOBS in parallel ($BUILD, unity $unity)"

export CLANG_TIDY BUILD out
# Wall and CPU (user + sys of every clang-tidy) time of the whole run, for the summary line.
TIMEFORMAT='%0R %0U %0S'
# shellcheck disable=SC2016  # expanded by the inner shell
{ time nl -ba -w1 -s' ' "$out/files" | xargs -P "$JOBS" -L 1 sh -c '
    "$CLANG_TIDY" -p "$BUILD" --config-file=.clang-tidy --quiet "$1" >"$out/$0.out" 2>"$out/$0.err" ||
        echo "$1" >"$out/$0.failed"'; } 2>"$out/time"
read -r wall user sys < <(tail -n 1 "$out/time")

# Each diagnostic block (a "file:line:col: warning|error: ... [check]" line with its source excerpt
# and notes) once, however many translation units included its header.
status=0
python3 - "$out" "$(realpath "$BUILD")" <<'EOF' || status=1
import collections, glob, re, sys
out_dir, build_dir = sys.argv[1], sys.argv[2]
head = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): (.*) \[([^\]]+)\]$")
blocks, order = {}, []
for path in sorted(glob.glob(out_dir + "/*.out")):
    current = None
    for line in open(path, errors="replace"):
        m = head.match(line.rstrip("\n"))
        if m:
            key = line
            current = None if m.group(1).startswith(build_dir + "/") else key
            if current and current not in blocks:
                blocks[current] = [line, m.group(6)]
                order.append(current)
            elif current:
                current = None  # a repeat from another translation unit
        elif current:
            blocks[current][0] += line
counts = collections.Counter()
for key in order:
    text, checks = blocks[key]
    sys.stdout.write(text)
    for check in checks.split(","):
        counts[check] += 1
for check, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"{n:5d} {check}")
print(f"tidy: {len(order)} warnings")
sys.exit(1 if order else 0)
EOF

failed=$(cat "$out"/*.failed 2>/dev/null || true)
if [[ -n $failed ]]; then
    echo "tidy: clang-tidy failed on:" >&2
    echo "$failed" >&2
    cat "$out"/*.err >&2
    status=1
fi
echo "tidy: ${wall}s wall, $((user + sys))s CPU"
exit "$status"
