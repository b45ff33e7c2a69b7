#!/usr/bin/env bash
# The container images of scripts/image.sh, checked with independent tools:
#   1. the amd64 archive from the binary under test: OCI layout, digests and sizes, config
#      (entrypoint /splitnet, cmd install, org.opencontainers.image.* labels), one layer holding
#      only /splitnet, a static x86-64 ELF (tests/testutil/oci_archive_check.py); the binary
#      taken out of the image answers VERSION with 1.1.0;
#   2. the archive is reproducible: written twice, the same bytes;
#   3. Debian's podman loads it (private storage in a temp dir, in a private mount namespace so
#      that not even podman's caches touch the host) and reports the name, platform,
#      entrypoint, cmd and labels;
#   4. with SPLITNET_ARM64_BINARY (scripts/test.sh sets it after the cross build): the same for
#      the arm64 archive, its binary run under qemu-user-static.
#   5. when tests/e2e/containerd_lib.sh is there (slice "containerd"): Debian's containerd, the
#      test's own instance, imports each archive for its platform and finds every blob.
# `ctr run` of the amd64 image as the DaemonSet runs it is tests/e2e/test_containerd.sh.
# shellcheck disable=SC2317,SC2016  # helpers run through check(); the sh -c script is literal
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init

desc=$(file -bL "$SPLITNET_BINARY")
if [[ $desc != *"statically linked"* && $desc != *"static-pie linked"* ]]; then
    echo "SKIPPED: $SPLITNET_BINARY is not the static release binary (images hold only that)"
    exit "$E2E_SKIP_CODE"
fi
command -v podman >/dev/null || { echo "missing podman (scripts/install-deps.sh installs it)" >&2; exit 1; }
VERSION=$(sed -n 's/^project(splitnet VERSION \([0-9][0-9.]*\).*/\1/p' "$E2E_SOURCE_DIR/CMakeLists.txt")
TAG=ghcr.io/splitnet/splitnet:$VERSION
IMAGE_SH=$E2E_SOURCE_DIR/scripts/image.sh
CHECK=$E2E_SOURCE_DIR/tests/testutil/oci_archive_check.py

# quiet CMD...: CMD without its output; no_stdout CMD...: its errors only.
quiet() { "$@" >/dev/null 2>&1; }
no_stdout() { "$@" >/dev/null; }

# version_lists_1_1_0 CMD...: CMD run as a CNI VERSION call prints a document that lists 1.1.0.
version_lists_1_1_0() {
    local out=$E2E_TMP/version.json
    echo '{"cniVersion":"1.1.0"}' | env -i CNI_COMMAND=VERSION "$@" >"$out" 2>&1 || return 1
    pred supports-versions "$out" 1.1.0
}

# build_checked_image ARCH BINARY DIR [RUNNER]: image.sh builds DIR/splitnet-ARCH.tar (ARCHIVE)
# from BINARY, the checker accepts it and extracts its /splitnet, which answers VERSION (run
# through RUNNER, e.g. qemu, when given). A failed build ends the suite.
build_checked_image() {
    local arch=$1 binary=$2 dir=$3 machine
    shift 3
    case $arch in amd64) machine=x86-64 ;; arm64) machine=aarch64 ;; esac
    check "image.sh --arch $arch --binary $binary" \
        no_stdout "$IMAGE_SH" --arch "$arch" --binary "$binary" --out "$dir" || e2e_summary
    ARCHIVE=$dir/splitnet-$arch.tar
    echo "# $arch image archive: $(stat -c %s "$ARCHIVE") bytes"
    check "$arch archive layout, digests, config, labels, one static $machine /splitnet" \
        no_stdout python3 "$CHECK" "$ARCHIVE" --arch "$arch" --extract "$dir/splitnet-from-image"
    check "the $arch image's /splitnet answers VERSION with 1.1.0${1:+ (under $1)}" \
        version_lists_1_1_0 "$@" "$dir/splitnet-from-image"
}

# podman_check ARCHIVE ARCH: podman loads the archive into a private store and inspects it.
podman_check() {
    local archive=$1 arch=$2 store out
    e2e_tmpdir store
    # A private mount namespace with tmpfs over /var/lib and /run: podman's blob-info cache
    # (/var/lib/containers/cache) and runtime dirs land there, the rest in the temp dir.
    out=$(unshare --mount --propagation private /bin/sh -c '
        set -e
        mount -t tmpfs podman-varlib /var/lib
        mount -t tmpfs podman-run /run
        s=$1; shift
        p() { podman --root "$s/root" --runroot "$s/run" --tmpdir "$s/tmp" --storage-driver vfs \
            --events-backend none --cgroup-manager cgroupfs "$@"; }
        p load -q -i "$1" >/dev/null
        p image inspect --format "{{.Architecture}}|{{.Os}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{index .Labels \"org.opencontainers.image.version\"}}|{{index .Labels \"org.opencontainers.image.licenses\"}}" "$2"
    ' podman-check "$store" "$archive" "$TAG" 2>&1)
    assert_eq "podman load + inspect ($arch): $TAG" \
        "${arch}|linux|[\"/splitnet\"]|[\"install\"]|${VERSION}|Apache-2.0" "$out"
}

# --- amd64: the binary under test
e2e_tmpdir OUT
build_checked_image amd64 "$SPLITNET_BINARY" "$OUT/a"
check_not "the checker rejects the amd64 archive as arm64" \
    quiet python3 "$CHECK" "$ARCHIVE" --arch arm64
# A corrupted blob must be caught: flip one byte of the layer inside a copy of the archive.
mkdir -p "$OUT/bad" && tar -C "$OUT/bad" -xf "$ARCHIVE"
layer=$(json_value "$OUT/bad/manifest.json" /0/Layers/0)
printf '\x00' | dd of="$OUT/bad/$layer" bs=1 seek=100 conv=notrunc status=none
tar -C "$OUT/bad" -cf "$OUT/bad.tar" .
check_not "the checker rejects an archive with a corrupted layer" \
    quiet python3 "$CHECK" "$OUT/bad.tar" --arch amd64
"$IMAGE_SH" --arch amd64 --binary "$SPLITNET_BINARY" --out "$OUT/b" >/dev/null
assert_eq "reproducible: the same inputs give the same archive" \
    "$(sha256sum <"$ARCHIVE")" "$(sha256sum <"$OUT/b/splitnet-amd64.tar")"
podman_check "$ARCHIVE" amd64
check_not "image.sh refuses an amd64 binary for arm64" \
    quiet "$IMAGE_SH" --arch arm64 --binary "$SPLITNET_BINARY" --out "$OUT/c"
check_not "image.sh: unknown argument exits non-zero" quiet "$IMAGE_SH" --bogus

# --- arm64: the cross-built binary, when given
if [[ -n ${SPLITNET_ARM64_BINARY:-} ]]; then
    build_checked_image arm64 "$SPLITNET_ARM64_BINARY" "$OUT/arm" "$(command -v qemu-aarch64-static)"
    podman_check "$ARCHIVE" arm64
else
    e2e_log "SPLITNET_ARM64_BINARY not set: the arm64 archive is checked by scripts/test.sh's arm64 step"
fi

# --- ctr image import, into the test's own containerd (never the system's)
CTRD_LIB=$E2E_SOURCE_DIR/tests/e2e/containerd_lib.sh
if [[ -f $CTRD_LIB ]]; then
    # shellcheck source=/dev/null
    source "$CTRD_LIB"
    if missing=$(ctrd_available); then
        e2e_netns_add "$(e2e_name node)"
        if check "a private containerd starts" ctrd_start "$(e2e_name node)"; then
            for archive in "$OUT"/a/splitnet-amd64.tar "$OUT"/arm/splitnet-arm64.tar; do
                [[ -f $archive ]] || continue
                arch=${archive##*-}
                arch=${arch%.tar}
                check "ctr image import ($arch)" \
                    quiet ctrd_ctr image import --platform "linux/$arch" "$archive"
                assert_contains "ctr images check ($arch): complete" \
                    "$(ctrd_ctr images check "name==$TAG" 2>&1)" "complete"
                assert_contains "ctr image ls ($arch): the platform" \
                    "$(ctrd_ctr image ls "name==$TAG" 2>&1)" "linux/$arch"
            done
        fi
    else
        e2e_log "no ctr check: $missing"
    fi
else
    e2e_log "no ctr check: tests/e2e/containerd_lib.sh is not in this tree"
fi

e2e_summary
