#!/usr/bin/env bash
# The README's test command (and what .ci/run runs): installs dependencies, then
#   1. static Release build in build/, checks `file` says statically linked, VERSION smoke test
#      (lists 1.1.0; prints binary size and CPU time of VERSION),
#   2. every ctest label (unit, privileged, e2e) against that build,
#   3. ASan+UBSan build in build-asan/ and its unit + privileged tests (the e2e scripts too
#      with SPLITNET_ASAN_E2E=1: they drive the binary like a runtime and take as long again),
#   4. libFuzzer: every parser harness for FUZZ_SECONDS (default 20) each (scripts/fuzz.sh).
# Keeps going after a failure so the summary shows everything; exits non-zero if anything failed.
# Needs root for the privileged and e2e suites (re-runs itself with sudo when available).
#
# Environment: SPLITNET_JOBS (default: nproc), SPLITNET_SKIP_DEPS=1, SPLITNET_ASAN_E2E=0|1,
#              SPLITNET_SKIP_ASAN=1, SPLITNET_SKIP_FUZZ=1, FUZZ_SECONDS (per fuzz harness).
# shellcheck disable=SC2317  # functions run through step(); shellcheck loses track after `|| summary`
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo -E "$0" "$@"
fi

JOBS=${SPLITNET_JOBS:-$(nproc)}
START=$(date +%s)
RESULTS=()
FAILURES=0
# shellcheck source=scripts/build-lib.sh
source scripts/build-lib.sh

# step NAME CMD...: run one step, record PASS/FAIL and its duration.
step() {
    local name=$1 t0 status
    shift
    printf '\n===== %s\n' "$name"
    t0=$(date +%s)
    "$@"
    status=$?
    local took=$(($(date +%s) - t0))
    if ((status == 0)); then
        RESULTS+=("PASS  ${name} (${took}s)")
    else
        RESULTS+=("FAIL  ${name} (${took}s, exit ${status})")
        FAILURES=$((FAILURES + 1))
    fi
    return "$status"
}

skip() { RESULTS+=("SKIP  $1 ($2)"); }

summary() {
    printf '\n===== Summary (%ss total)\n' "$(($(date +%s) - START))"
    printf '%s\n' "${RESULTS[@]}"
    if ((FAILURES > 0)); then
        echo "RESULT: ${FAILURES} step(s) FAILED"
        exit 1
    fi
    echo "RESULT: all steps passed"
    exit 0
}

build() { # DIR CMAKE_ARGS...
    local dir=$1
    shift
    configure_build "$dir" "$@" && cmake --build "$dir" -j "$JOBS"
}

static_check() {
    local desc
    desc=$(file -L build/splitnet)
    echo "$desc"
    [[ $desc == *"statically linked"* || $desc == *"static-pie linked"* ]] ||
        { echo "build/splitnet is not statically linked" >&2; return 1; }
}

version_smoke() {
    local out
    out=$(echo '{"cniVersion":"1.1.0"}' | env -i CNI_COMMAND=VERSION build/splitnet) || {
        echo "VERSION failed" >&2
        return 1
    }
    echo "VERSION: $out"
    python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert "1.1.0" in v["supportedVersions"], "1.1.0 missing from supportedVersions"
assert v.get("cniVersion"), "empty cniVersion"' "$out" || return 1
    echo "binary size: $(stat -c %s build/splitnet) bytes"
    # CPU time of VERSION: user+sys of 100 runs (bash's `time` on a subshell counts children),
    # minus the same loop running /bin/true (the loop and exec overhead).
    local TIMEFORMAT='%U %S' t_version t_true
    t_version=$({ time (for _ in $(seq 100); do
        CNI_COMMAND=VERSION build/splitnet </dev/null >/dev/null
    done); } 2>&1)
    t_true=$({ time (for _ in $(seq 100); do
        CNI_COMMAND=VERSION /bin/true </dev/null >/dev/null
    done); } 2>&1)
    python3 -c '
import sys
cpu = lambda s: sum(map(float, s.split()))
total, base = cpu(sys.argv[1]), cpu(sys.argv[2])
extra = (total - base) / 100 * 1000
print(f"VERSION CPU time (user+sys per call, mean of 100): {total / 100 * 1000:.2f} ms; "
      f"/bin/true the same way: {base / 100 * 1000:.2f} ms; "
      + (f"splitnet adds {extra:.2f} ms" if extra > 0 else "no measurable difference"))' \
        "$t_version" "$t_true"
}

run_ctest() { # DIR [ctest args...]
    local dir=$1
    shift
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$JOBS" "$@"
}

if [[ $(id -u) -ne 0 ]]; then
    echo "WARNING: not root: privileged tests will be skipped and e2e tests reported as skipped"
fi

if [[ ${SPLITNET_SKIP_DEPS:-0} == 1 ]]; then
    skip "install dependencies" "SPLITNET_SKIP_DEPS=1"
else
    step "install dependencies" scripts/install-deps.sh || summary
fi

if step "static Release build (build/)" build build -DCMAKE_BUILD_TYPE=Release -DSPLITNET_STATIC=ON \
    -DSPLITNET_SANITIZE=OFF; then
    step "file: statically linked" static_check
    step "VERSION smoke test" version_smoke
    step "ctest build/ (unit, privileged, e2e)" run_ctest build
else
    skip "ctest build/" "build failed"
fi

if [[ ${SPLITNET_SKIP_ASAN:-0} == 1 ]]; then
    skip "ASan build" "SPLITNET_SKIP_ASAN=1"
elif step "ASan+UBSan build (build-asan/)" build build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DSPLITNET_SANITIZE=ON -DSPLITNET_STATIC=OFF; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    if [[ ${SPLITNET_ASAN_E2E:-0} == 1 ]]; then
        step "ctest build-asan/ (unit, privileged, e2e)" run_ctest build-asan
    else
        step "ctest build-asan/ (unit, privileged)" run_ctest build-asan -L 'unit|privileged'
        skip "ctest build-asan/ e2e" "SPLITNET_ASAN_E2E=0"
    fi
else
    skip "ctest build-asan/" "build failed"
fi

if [[ ${SPLITNET_SKIP_FUZZ:-0} == 1 ]]; then
    skip "fuzz" "SPLITNET_SKIP_FUZZ=1"
else
    step "fuzz (libFuzzer, ${FUZZ_SECONDS:-20} s per harness, build-fuzz/)" scripts/fuzz.sh
fi

summary
