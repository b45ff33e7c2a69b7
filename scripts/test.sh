#!/usr/bin/env bash
# The README's test command (and what .ci/run runs): installs dependencies, then
#   0. clang-tidy over the whole tree (scripts/tidy.sh, configure-only build-tidy/): no warning,
#   1. static Release build in build/, checks `file` says statically linked, VERSION smoke test
#      (lists 1.1.0; prints binary size and CPU time of VERSION),
#   2. every ctest label (unit, privileged, e2e) against that build,
#   3. ASan+UBSan build in build-asan/ and its unit + privileged tests (the e2e scripts too
#      with SPLITNET_ASAN_E2E=1: they drive the binary like a runtime and take as long again),
#   4. libFuzzer: every parser harness for FUZZ_SECONDS (default 20) each (scripts/fuzz.sh),
#   5. arm64: static cross build in build-arm64/ (Debian's aarch64 toolchain,
#      cmake/aarch64-linux-gnu.cmake) of splitnet, unit_tests and fuzz_replay; `file` says ARM
#      aarch64 + statically linked, VERSION under qemu-user-static lists 1.1.0, the unit tests and
#      fuzz corpus replay under qemu (but tests/qemu_unsupported.txt), the arm64 image archive
#      (tests/e2e/test_image.sh with SPLITNET_ARM64_BINARY) and the arm64 .deb's architecture.
#      (The amd64 image and .deb are the e2e tests test_image.sh and test_package.sh.)
# Keeps going after a failure so the summary shows everything; exits non-zero if anything failed.
# Needs root for the privileged and e2e suites (re-runs itself with sudo when available).
#
# Environment: SPLITNET_JOBS (default: nproc), SPLITNET_SKIP_DEPS=1, SPLITNET_ASAN_E2E=0|1,
#              SPLITNET_SKIP_ASAN=1, SPLITNET_SKIP_FUZZ=1, FUZZ_SECONDS (per fuzz harness),
#              SPLITNET_SKIP_ARM64=1 (no cross toolchain installed, no arm64 step),
#              SPLITNET_SKIP_TIDY=1.
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

# The arm64 binary, and the unit tests and fuzz corpus replay to run under qemu-user-static: the
# library is built once for both, the test code is -O0 (measured under load: unit_tests 1m10s of
# CPU, fuzz_replay 30 s, on top of the splitnet target's ~5 min). The privileged and e2e suites
# need the real kernel's namespaces from an arm64 process and are not cross-run.
build_arm64() {
    configure_build build-arm64 -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DSPLITNET_STATIC=ON -DSPLITNET_BUILD_TESTS=ON &&
        cmake --build build-arm64 -j "$JOBS" --target splitnet unit_tests fuzz_replay
}

# arm64_unit: every unit test and fuzz replay under qemu, but those qemu cannot run
# (tests/qemu_unsupported.txt says which and why).
arm64_unit() {
    local exclude
    exclude=$(grep -v '^#' tests/qemu_unsupported.txt | grep . | paste -sd'|')
    run_ctest build-arm64 -L unit -E "$exclude"
}

arm64_static_check() {
    local desc
    desc=$(file -L build-arm64/splitnet)
    echo "$desc"
    [[ $desc == *"ARM aarch64"* ]] || { echo "build-arm64/splitnet is not an aarch64 binary" >&2; return 1; }
    [[ $desc == *"statically linked"* || $desc == *"static-pie linked"* ]] ||
        { echo "build-arm64/splitnet is not statically linked" >&2; return 1; }
    echo "arm64 binary size: $(stat -c %s build-arm64/splitnet) bytes"
}

arm64_version() {
    local out
    out=$(echo '{"cniVersion":"1.1.0"}' | env -i CNI_COMMAND=VERSION qemu-aarch64-static build-arm64/splitnet) ||
        { echo "VERSION under qemu failed" >&2; return 1; }
    echo "VERSION (arm64, qemu): $out"
    python3 -c 'import json, sys; assert "1.1.0" in json.loads(sys.argv[1])["supportedVersions"]' "$out"
}

arm64_deb() {
    local dir deb arch desc status=1
    dir=$(mktemp -d)
    if cpack --config build-arm64/CPackConfig.cmake -B "$dir" >"$dir/cpack.log" 2>&1; then
        deb=$(echo "$dir"/splitnet_*_arm64.deb)
        arch=$(dpkg-deb -f "$deb" Architecture)
        desc=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./opt/cni/bin/splitnet | file -b -)
        echo "arm64 .deb: $(basename "$deb"), $(stat -c %s "$deb") bytes, Architecture: $arch; binary: $desc"
        [[ $arch == arm64 && $desc == *"ARM aarch64"* ]] && status=0
    else
        cat "$dir/cpack.log" >&2
    fi
    rm -rf -- "$dir"
    return "$status"
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

if [[ ${SPLITNET_SKIP_TIDY:-0} == 1 ]]; then
    skip "clang-tidy" "SPLITNET_SKIP_TIDY=1"
else
    step "clang-tidy (scripts/tidy.sh, build-tidy/)" env SPLITNET_JOBS="$JOBS" scripts/tidy.sh
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

if [[ ${SPLITNET_SKIP_ARM64:-0} == 1 ]]; then
    skip "arm64 cross build" "SPLITNET_SKIP_ARM64=1"
elif step "arm64 cross build (build-arm64/: splitnet, unit_tests, fuzz_replay)" build_arm64; then
    step "arm64: file says ARM aarch64, statically linked" arm64_static_check
    step "arm64: VERSION under qemu-user-static" arm64_version
    step "arm64: unit tests + fuzz corpus replay under qemu-user-static" arm64_unit
    step "arm64: image archive (test_image.sh with SPLITNET_ARM64_BINARY)" \
        env SPLITNET_BINARY="$PWD/build/splitnet" SPLITNET_ARM64_BINARY="$PWD/build-arm64/splitnet" \
        bash tests/e2e/test_image.sh
    step "arm64: .deb (cpack, Architecture arm64, aarch64 binary)" arm64_deb
else
    skip "arm64 checks" "cross build failed"
fi

summary
