#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang + ASan + UBSan, in build-fuzz/) and runs each
# for a bounded time from its seed corpus (tests/fuzz/corpus/<harness>, plus the regression
# inputs of past crashes in tests/fuzz/regressions/<harness>). New corpus entries go to
# build-fuzz/corpus/<harness> (kept between runs, never into the repository), crash inputs to
# build-fuzz/artifacts/. Prints the executions per harness and a total line
#   fuzz: total N executions, M crashes
# and exits non-zero if any harness crashed. docs/security.md#fuzzing has the details.
#
# Environment:
#   FUZZ_SECONDS     seconds per harness (default 20); a long run is e.g. FUZZ_SECONDS=600.
#                    The harnesses run SPLITNET_JOBS at a time, each on one core: 12 harnesses
#                    take about 2 minutes on 2 cores
#   FUZZ_HARNESSES   space-separated subset (default: all)
#   FUZZ_MAX_LEN     largest input libFuzzer generates (default 131072: room for deep nesting)
#   FUZZ_BUILD_DIR   default build-fuzz
#   FUZZ_SKIP_BUILD=1  use the binaries as they are
#   SPLITNET_JOBS    build parallelism (default: nproc)
#   SPLITNET_FUZZ_SKIP_KNOWN=1  leave out the crash classes known on main (inputs nested deeper
#                    than 512, invalid UTF-8 in an error message) to look for anything else
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

SECONDS_EACH=${FUZZ_SECONDS:-20}
MAX_LEN=${FUZZ_MAX_LEN:-131072}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${SPLITNET_JOBS:-$(nproc)}
ALL=(annotation api_body cni_args delegate_config kubeconfig meta_conf multus_cache native_config
    plan result state dns_query)
read -r -a HARNESSES <<<"${FUZZ_HARNESSES:-${ALL[*]}}"

if [[ ${FUZZ_SKIP_BUILD:-0} != 1 ]]; then
    # shellcheck source=scripts/build-lib.sh
    source scripts/build-lib.sh
    command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 not found (scripts/install-deps.sh)" >&2; exit 1; }
    # -O1 -g with assertions on: nlohmann's own checks stay armed; NDEBUG would hide them.
    CC=clang-14 CXX=clang++-14 configure_build "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
        "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DSPLITNET_FUZZ=ON -DSPLITNET_STATIC=OFF \
        -DSPLITNET_BUILD_TESTS=OFF || exit 1
    targets=()
    for h in "${HARNESSES[@]}"; do targets+=("fuzz_$h"); done
    cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}" || exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD/artifacts" "$BUILD/logs"
# fuzz_one HARNESS: runs it; its verdict goes to $BUILD/logs/HARNESS.status (exit status).
fuzz_one() {
    local h=$1 bin=$BUILD/tests/fuzz/fuzz_$1 work=$BUILD/corpus/$1 inputs
    mkdir -p "$work"
    inputs=("$work" "tests/fuzz/corpus/$h")
    [[ -d tests/fuzz/regressions/$h ]] && inputs+=("tests/fuzz/regressions/$h")
    "$bin" -max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=30 -rss_limit_mb=4096 \
        -dict=tests/fuzz/splitnet.dict -print_final_stats=1 \
        -artifact_prefix="$BUILD/artifacts/$h-" "${inputs[@]}" >"$BUILD/logs/$h.log" 2>&1
    echo $? >"$BUILD/logs/$h.status"
}

for h in "${HARNESSES[@]}"; do
    [[ -x $BUILD/tests/fuzz/fuzz_$h ]] || { echo "fuzz: $BUILD/tests/fuzz/fuzz_$h missing" >&2; exit 1; }
    rm -f "$BUILD/logs/$h.status"
done
# Side by side, JOBS at a time: each harness is one process on one core.
running=0
for h in "${HARNESSES[@]}"; do
    if ((running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$h" &
    running=$((running + 1))
done
wait

total=0
crashes=0
for h in "${HARNESSES[@]}"; do
    log=$BUILD/logs/$h.log
    status=$(cat "$BUILD/logs/$h.status" 2>/dev/null || echo "none")
    runs=$(awk '/^stat::number_of_executed_units/ {print $NF}' "$log" 2>/dev/null | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    if [[ $status != 0 ]]; then
        crashes=$((crashes + 1))
        artifact=$(grep -o "Test unit written to [^ ]*" "$log" 2>/dev/null | tail -1 | cut -d' ' -f5)
        printf 'fuzz: %-16s %10s executions  CRASH (exit %s) input: %s log: %s\n' "$h" "$runs" \
            "$status" "${artifact:-?}" "$log"
        grep -E '^(==|====|SUMMARY|    #[0-9] )' "$log" 2>/dev/null | head -25 | sed 's/^/    /'
    else
        printf 'fuzz: %-16s %10s executions  ok (%s s)\n' "$h" "$runs" "$SECONDS_EACH"
    fi
done
echo "fuzz: total $total executions, $crashes crashes"
((crashes == 0))
