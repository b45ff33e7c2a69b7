#!/usr/bin/env bash
# Installs the Debian 12 packages splitnet needs to build, test and run the demo.
# Idempotent and quiet: does nothing (not even apt-get update) when everything is present.
#
# Also the arm64 cross build (cmake/aarch64-linux-gnu.cmake, scripts/image.sh) unless
# SPLITNET_SKIP_ARM64=1: Debian's aarch64 toolchain, qemu-user-static, and arm64 libraries through
# multiarch (`dpkg --add-architecture arm64` and `apt-get update` happen only when one is missing).
# libyaml-cpp-dev is not Multi-Arch: same, so its arm64 package would REMOVE the host's
# libyaml-cpp-dev: it is never installed; its .deb is unpacked into SPLITNET_ARM64_ROOT
# (default /var/cache/splitnet/arm64-root) instead, where the toolchain file finds it.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libnl-3-dev libnl-route-3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
    libgtest-dev libgmock-dev libboost-dev libssl-dev libyaml-cpp-dev
    containernetworking-plugins golang-go golang-github-appc-cni-dev
    iproute2 nftables python3 openssl file clang-format util-linux
    containerd runc busybox-static
    clang-14 libclang-rt-14-dev clang-tidy-14
    # The static Release link in start-up order (CMakeLists.txt); bench/startup_order.py.
    lld valgrind
    golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev python3-yaml
    prometheus
    # Images and the .deb: the archive and package checks (tests/e2e/test_image.sh, test_package.sh).
    podman lintian
)
# Multi-Arch: same packages only: they install beside the host's own.
ARM64_PACKAGES=(
    g++-aarch64-linux-gnu qemu-user-static
    libnl-3-dev:arm64 libnl-route-3-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libssl-dev:arm64
    libgtest-dev:arm64 libgmock-dev:arm64
)
ARM64_ROOT=${SPLITNET_ARM64_ROOT:-/var/cache/splitnet/arm64-root}
# `kubectl kustomize` renders deploy/kustomize in tests/e2e/test_manifests.sh. Debian's
# kubernetes-client ships /usr/bin/kubectl; a kubectl that is already there (another package,
# a newer release) is used as it is, since the two packages cannot both own that file.
if ! command -v kubectl >/dev/null; then
    PACKAGES+=(kubernetes-client)
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    SUDO=(sudo)
fi
HOST_ARCH=$(dpkg --print-architecture)

# installed PKG[:ARCH]: installed for ARCH, else for the host's architecture (or "all"). With
# arm64 libraries beside the host's, an unqualified name matches both.
installed() {
    local name=${1%%:*} arch=${1#*:}
    [[ $1 == *:* ]] || arch=$HOST_ARCH
    dpkg-query -W -f='${Architecture} ${Status}\n' "$name" 2>/dev/null |
        grep -Eq "^($arch|all) install ok installed$"
}
export DEBIAN_FRONTEND=noninteractive

# The arm64 libyaml-cpp.a, unpacked (not installed) into ARM64_ROOT; its pkg-config file's libdir
# is pointed there. Redone only when the version differs from the host's libyaml-cpp-dev.
arm64_yaml_cpp() {
    local want have dir deb
    want=$(dpkg-query -W -f='${Version}' "libyaml-cpp-dev:$HOST_ARCH" 2>/dev/null || true)
    have=$(cat "$ARM64_ROOT/libyaml-cpp-dev.version" 2>/dev/null || true)
    # The version file also records the layout: "2" = only libdir rewritten.
    [[ -n $want ]] || { echo "install-deps: libyaml-cpp-dev is not installed" >&2; return 1; }
    want="$want layout-2"
    [[ $want == "$have" ]] && return 0
    echo "install-deps: unpacking libyaml-cpp-dev:arm64 $want into $ARM64_ROOT"
    dir=$(mktemp -d)
    # apt's download sandbox user must be able to write there.
    chmod 0755 "$dir"
    (cd "$dir" && "${SUDO[@]}" apt-get download -qq "libyaml-cpp-dev:arm64=${want% *}" 2>/dev/null) ||
        { "${SUDO[@]}" apt-get update -qq && (cd "$dir" && "${SUDO[@]}" apt-get download -qq "libyaml-cpp-dev:arm64=${want% *}"); }
    deb=$(echo "$dir"/libyaml-cpp-dev_*_arm64.deb)
    "${SUDO[@]}" rm -rf -- "$ARM64_ROOT"
    "${SUDO[@]}" mkdir -p "$ARM64_ROOT"
    "${SUDO[@]}" dpkg-deb -x "$deb" "$ARM64_ROOT"
    # Only the library moves: the headers are the host's libyaml-cpp-dev of the same version
    # (architecture-independent), so the compile flags stay those of a native build.
    "${SUDO[@]}" sed -i "s|^libdir=.*|libdir=$ARM64_ROOT/usr/lib/aarch64-linux-gnu|" \
        "$ARM64_ROOT/usr/lib/aarch64-linux-gnu/pkgconfig/yaml-cpp.pc"
    echo "$want" | "${SUDO[@]}" tee "$ARM64_ROOT/libyaml-cpp-dev.version" >/dev/null
    rm -rf -- "$dir"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
need_arm64_arch=0
if [[ ${SPLITNET_SKIP_ARM64:-0} != 1 ]]; then
    for pkg in "${ARM64_PACKAGES[@]}"; do
        if ! installed "$pkg"; then
            missing+=("$pkg")
            [[ $pkg == *:arm64 ]] && need_arm64_arch=1
        fi
    done
fi
if ((${#missing[@]} == 0)); then
    [[ ${SPLITNET_SKIP_ARM64:-0} == 1 ]] || arm64_yaml_cpp
    echo "install-deps: all packages present"
    exit 0
fi

if ((${#SUDO[@]} > 0)) && ! command -v sudo >/dev/null; then
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
if ((need_arm64_arch)) && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "install-deps: dpkg --add-architecture arm64"
    "${SUDO[@]}" dpkg --add-architecture arm64
fi
echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[[ ${SPLITNET_SKIP_ARM64:-0} == 1 ]] || arm64_yaml_cpp
echo "install-deps: done"
