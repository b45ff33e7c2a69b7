#!/usr/bin/env bash
# Installs the Debian 12 packages splitnet needs to build, test and run the demo.
# Idempotent and quiet: does nothing (not even apt-get update) when everything is present.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libnl-3-dev libnl-route-3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
    libgtest-dev libgmock-dev libboost-dev libssl-dev libyaml-cpp-dev
    containernetworking-plugins golang-go golang-github-appc-cni-dev
    iproute2 nftables python3 openssl file clang-format
    clang-14 libclang-rt-14-dev
    prometheus
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
