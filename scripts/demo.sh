#!/usr/bin/env bash
# The README's demo command: installs dependencies, builds the static binary, runs demo/demo.sh
# (private network namespaces only; needs root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "demo: run as root (network namespaces)" >&2; exit 1; }
    exec sudo -E "$0" "$@"
fi

scripts/install-deps.sh
source scripts/build-lib.sh
configure_build build -DCMAKE_BUILD_TYPE=Release -DSPLITNET_STATIC=ON -DSPLITNET_SANITIZE=OFF
# The compiler's and linker's output goes to a log: a newcomer's first screen is the demo. On a
# failure the log's tail is shown.
mkdir -p build
echo "demo: building build/splitnet (a few minutes the first time; log: build/demo-build.log)"
if ! cmake --build build --target splitnet -j "$(nproc)" >build/demo-build.log 2>&1; then
    tail -n 40 build/demo-build.log >&2
    echo "demo: the build failed; the whole log is build/demo-build.log" >&2
    exit 1
fi
SPLITNET_BINARY=$PWD/build/splitnet exec demo/demo.sh
