#!/usr/bin/env bash
# Builds splitnet's container images: FROM scratch, one layer holding only the static binary at
# /splitnet, for amd64 and arm64. No registry and no container engine is needed: the images are
# OCI archives (scripts/oci_image.py) that `ctr image import` and `podman load` accept.
#
#   scripts/image.sh [--arch amd64|arm64|all] [--binary PATH] [--tag NAME:TAG] [--out DIR]
#
#   --arch     which image(s) to write (default: all)
#   --binary   use this static binary instead of building one (one --arch only; its ELF machine
#              must match the arch)
#   --tag      image name (default: ghcr.io/splitnet/splitnet:<project version>, the name
#              deploy/kustomize and the chart run)
#   --out      output directory (default: build/image); writes splitnet-<arch>.tar
#
# Without --binary, the binary is built: amd64 in build/ (static Release, target splitnet only),
# arm64 cross-built in build-arm64/ with cmake/aarch64-linux-gnu.cmake (Debian's aarch64
# toolchain and arm64 multiarch libraries: scripts/install-deps.sh --arm64).
#
# The image runs `/splitnet install` (entrypoint ["/splitnet"], cmd ["install"]), and the
# DaemonSet installs the running binary (--multus-bin-file defaults to /proc/self/exe).
# Labels: org.opencontainers.image.{title,description,version,revision,source,licenses,created};
# created is the commit time, so the same commit gives the same bytes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    cat >&2 <<'EOF'
usage: scripts/image.sh [--arch amd64|arm64|all] [--binary PATH] [--tag NAME:TAG] [--out DIR]
EOF
    exit 2
}

ARCH=all
BINARY=
TAG=
OUT=build/image
while (($# > 0)); do
    case $1 in
    --arch=*) ARCH=${1#*=} ;;
    --binary=*) BINARY=${1#*=} ;;
    --tag=*) TAG=${1#*=} ;;
    --out=*) OUT=${1#*=} ;;
    --arch | --binary | --tag | --out)
        (($# >= 2)) || usage
        case $1 in
        --arch) ARCH=$2 ;;
        --binary) BINARY=$2 ;;
        --tag) TAG=$2 ;;
        --out) OUT=$2 ;;
        esac
        shift
        ;;
    -h | --help) usage ;;
    *)
        echo "image.sh: unknown argument: $1" >&2
        usage
        ;;
    esac
    shift
done

case $ARCH in
amd64 | arm64) ARCHES=("$ARCH") ;;
all) ARCHES=(amd64 arm64) ;;
*)
    echo "image.sh: --arch must be amd64, arm64 or all, not '$ARCH'" >&2
    usage
    ;;
esac
if [[ -n $BINARY && $ARCH == all ]]; then
    echo "image.sh: --binary needs one --arch (amd64 or arm64)" >&2
    usage
fi

VERSION=$(sed -n 's/^project(splitnet VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n $VERSION ]] || { echo "image.sh: no project version in CMakeLists.txt" >&2; exit 1; }
TAG=${TAG:-ghcr.io/splitnet/splitnet:$VERSION}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
    CREATED_EPOCH=$SOURCE_DATE_EPOCH
else
    CREATED_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
CREATED=$(date -u -d "@$CREATED_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
SOURCE_URL=https://github.com/splitnet/splitnet

# shellcheck source=scripts/build-lib.sh
source scripts/build-lib.sh
JOBS=${SPLITNET_JOBS:-$(nproc)}

# build_binary ARCH: builds the static binary for ARCH and prints its path.
build_binary() {
    local arch=$1 dir
    local args=(-DCMAKE_BUILD_TYPE=Release -DSPLITNET_STATIC=ON -DSPLITNET_SANITIZE=OFF)
    if [[ $arch == "$(dpkg --print-architecture)" ]]; then
        dir=build
    elif [[ $arch == arm64 ]]; then
        dir=build-arm64
        # Only the plugin binary: the test suites need gtest for arm64 and are not run here.
        args+=(-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" -DSPLITNET_BUILD_TESTS=OFF)
    else
        echo "image.sh: no cross build for $arch on $(dpkg --print-architecture); pass --binary" >&2
        return 1
    fi
    configure_build "$dir" "${args[@]}" >&2
    cmake --build "$dir" -j "$JOBS" --target splitnet >&2
    echo "$dir/splitnet"
}

# check_binary ARCH PATH: the binary is a static ELF for ARCH (the image has no loader or libc).
check_binary() {
    local arch=$1 path=$2 desc want
    [[ -f $path && -x $path ]] || { echo "image.sh: $path: not an executable file" >&2; return 1; }
    desc=$(file -bL "$path")
    case $arch in
    amd64) want="x86-64" ;;
    arm64) want="ARM aarch64" ;;
    esac
    [[ $desc == *"$want"* ]] ||
        { echo "image.sh: $path is not an $arch binary: $desc" >&2; return 1; }
    [[ $desc == *"statically linked"* || $desc == *"static-pie linked"* ]] ||
        { echo "image.sh: $path is not statically linked: $desc" >&2; return 1; }
}

# strip_tool ARCH: binutils' strip for ARCH's ELF files (the host's strip knows only its own).
strip_tool() {
    if [[ $1 == arm64 && $(dpkg --print-architecture) != arm64 ]]; then
        echo aarch64-linux-gnu-strip
    elif [[ $1 == amd64 && $(dpkg --print-architecture) != amd64 ]]; then
        echo x86_64-linux-gnu-strip
    else
        echo strip
    fi
}

mkdir -p "$OUT"
ROOTFS=$(mktemp -d)
trap 'rm -rf -- "$ROOTFS"' EXIT
for arch in "${ARCHES[@]}"; do
    binary=${BINARY:-$(build_binary "$arch")}
    check_binary "$arch" "$binary"
    rm -rf -- "${ROOTFS:?}"/*
    # Stripped: the symbol table is a quarter of the file and nothing in a pod reads it.
    install -m 0755 "$binary" "$ROOTFS/splitnet"
    "$(strip_tool "$arch")" --strip-all "$ROOTFS/splitnet"
    python3 scripts/oci_image.py --rootfs "$ROOTFS" --arch "$arch" --tag "$TAG" \
        --entrypoint '["/splitnet"]' --cmd '["install"]' \
        --label "org.opencontainers.image.title=splitnet" \
        --label "org.opencontainers.image.description=Multi-network CNI plugin and node agent (one static binary)" \
        --label "org.opencontainers.image.version=$VERSION" \
        --label "org.opencontainers.image.revision=$REVISION" \
        --label "org.opencontainers.image.source=$SOURCE_URL" \
        --label "org.opencontainers.image.licenses=Apache-2.0" \
        --label "org.opencontainers.image.created=$CREATED" \
        --out "$OUT/splitnet-$arch.tar"
    echo "image.sh: $OUT/splitnet-$arch.tar ($TAG, $arch, $(stat -c %s "$OUT/splitnet-$arch.tar") bytes)"
done
