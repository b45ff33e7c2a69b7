#!/usr/bin/env bash
# The .deb (cmake/Packaging.cmake) from the build tree under test, with Debian's own tools:
#   1. cpack writes splitnet_<version>_<arch>.deb; dpkg-deb -I/-c: control fields, the binary at
#      /opt/cni/bin/splitnet (0755 root), docs and examples, and no file under /etc (a package
#      must not make a CNI config live);
#   2. lintian: no error or warning (the deliberate /opt and static-binary tags are overridden);
#   3. dpkg --root=<temp root> -i: files present, the installed binary answers VERSION (1.1.0),
#      dpkg knows the package there and NOT on the host (dpkg database and /opt/cni/bin);
#   4. dpkg --root -r, then -P: every file of the package gone, nothing left but dpkg's database;
#   5. cmake --install with DESTDIR: the binary in /opt/cni/bin whatever the prefix, the docs and
#      examples under the prefix, nothing under /etc.
# The host's dpkg database and /opt/cni/bin are never written: --root points dpkg at a private
# root (its own var/lib/dpkg), and the test checks the host's entries before and after.
# shellcheck disable=SC2153  # PKG and ROOT are set by e2e_tmpdir
set -uo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init

BUILD_DIR=${SPLITNET_BUILD_DIR:-$(dirname "$SPLITNET_BINARY")}
for tool in cpack dpkg dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
[[ -f $BUILD_DIR/CPackConfig.cmake ]] || { echo "no CPackConfig.cmake in $BUILD_DIR" >&2; exit 1; }
# The asan build's binary is dynamic: the package is meant for the static release binary.
if [[ $(file -bL "$SPLITNET_BINARY") != *"statically linked"* && $(file -bL "$SPLITNET_BINARY") != *"static-pie"* ]]; then
    echo "SKIPPED: $SPLITNET_BINARY is not the static release binary"
    exit "$E2E_SKIP_CODE"
fi
ARCH=$(dpkg --print-architecture)
VERSION=$(sed -n 's/^project(splitnet VERSION \([0-9][0-9.]*\).*/\1/p' "$E2E_SOURCE_DIR/CMakeLists.txt")

# The host's view of splitnet, to prove afterwards that --root left it alone.
host_dpkg_entry() { dpkg-query -W -f='${Status} ${Version}' splitnet 2>&1 || true; }
host_bin_entry() { stat -c '%i %s %Y' /opt/cni/bin/splitnet 2>&1 || true; }
HOST_DPKG_BEFORE=$(host_dpkg_entry)
HOST_BIN_BEFORE=$(host_bin_entry)

# --- 1. cpack and the package's contents
e2e_tmpdir PKG
if ! cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$PKG" >"$PKG/cpack.log" 2>&1; then
    sed 's/^/#   /' "$PKG/cpack.log" >&2
fi
DEB=$PKG/splitnet_${VERSION}_${ARCH}.deb
check "cpack wrote $(basename "$DEB")" test -f "$DEB" || e2e_summary
echo "# .deb size: $(stat -c %s "$DEB") bytes"

info=$(dpkg-deb -f "$DEB" Package Version Architecture Section)
assert_eq "control: package, version, architecture, section" \
    "$(printf 'Package: splitnet\nVersion: %s\nArchitecture: %s\nSection: net' "$VERSION" "$ARCH")" "$info"
assert_eq "control: no Depends (static binary)" "" "$(dpkg-deb -f "$DEB" Depends)"
check_not "no maintainer scripts (nothing runs as root on install or removal)" \
    grep -Eq '^ +[0-9]+ bytes, +[0-9]+ lines +\*? *(pre|post)(inst|rm)' <<<"$(dpkg-deb -I "$DEB")"
contents=$(dpkg-deb -c "$DEB")
check "the binary at /opt/cni/bin/splitnet, 0755 root" \
    grep -Eq '^-rwxr-xr-x root/root +[0-9]+ [0-9-]+ [0-9:]+ \./opt/cni/bin/splitnet$' <<<"$contents"
check "only one file in /opt/cni/bin" \
    test "$(grep -c '\./opt/cni/bin/.' <<<"$contents")" = 1
for f in copyright changelog.gz README.md install.md security.md \
    examples/00-splitnet.conflist examples/10-splitnet-demo.conflist; do
    assert_contains "doc: /usr/share/doc/splitnet/$f" "$contents" "./usr/share/doc/splitnet/$f"
done
check_not "no file under /etc (no live CNI config)" grep -q ' \./etc/' <<<"$contents"

# --- 2. lintian
if command -v lintian >/dev/null; then
    lint=$(lintian --allow-root "$DEB" 2>&1 | grep -E '^[EW]: ' || true)
    assert_eq "lintian: no error or warning" "" "$lint"
else
    fail "lintian is missing (scripts/install-deps.sh installs it)"
fi

# --- 3. dpkg --root -i into a private root
e2e_tmpdir ROOT
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
# --force-script-chrootless: the package has no maintainer scripts, and the empty root has no
# shell to chroot into. The root's own database knows no other architecture than the host's.
DPKG=(dpkg --root="$ROOT" --force-script-chrootless --log=/dev/null)
if "${DPKG[@]}" -i "$DEB" >"$PKG/dpkg-i.log" 2>&1; then
    pass "dpkg --root -i"
else
    fail "dpkg --root -i"
    sed 's/^/#   /' "$PKG/dpkg-i.log" >&2
fi
check "installed: $ROOT/opt/cni/bin/splitnet is executable" test -x "$ROOT/opt/cni/bin/splitnet"
check "installed: the example node config" test -f "$ROOT/usr/share/doc/splitnet/examples/00-splitnet.conflist"
version_out=$(echo '{"cniVersion":"1.1.0"}' | env -i CNI_COMMAND=VERSION "$ROOT/opt/cni/bin/splitnet" 2>&1)
assert_contains "the installed binary answers VERSION with 1.1.0" "$version_out" '"1.1.0"'
assert_eq "dpkg in the root: installed" "install ok installed $VERSION" \
    "$("${DPKG[@]}" -s splitnet 2>&1 | sed -n 's/^Status: //p;s/^Version: //p' | paste -sd' ')"
check "dpkg -L lists the binary" grep -qx /opt/cni/bin/splitnet <<<"$("${DPKG[@]}" -L splitnet)"
# Isolation: the host's dpkg database and CNI bin dir are exactly as before.
assert_eq "host dpkg database unchanged for splitnet" "$HOST_DPKG_BEFORE" "$(host_dpkg_entry)"
assert_eq "host /opt/cni/bin/splitnet unchanged" "$HOST_BIN_BEFORE" "$(host_bin_entry)"

# --- 4. remove, purge: nothing of the package left
if "${DPKG[@]}" -r splitnet >"$PKG/dpkg-r.log" 2>&1; then
    pass "dpkg --root -r"
else
    fail "dpkg --root -r"
    sed 's/^/#   /' "$PKG/dpkg-r.log" >&2
fi
check_not "removed: the binary" test -e "$ROOT/opt/cni/bin/splitnet"
check_not "removed: /opt/cni (no other package owns it)" test -e "$ROOT/opt/cni"
check_not "removed: the docs" test -e "$ROOT/usr/share/doc/splitnet"
"${DPKG[@]}" -P splitnet >/dev/null 2>&1
left=$(cd "$ROOT" && find . -mindepth 1 \( -path ./var/lib/dpkg -prune \) -o -type f -print)
assert_eq "after purge: no file outside dpkg's database" "" "$left"
check_not "after purge: dpkg in the root no longer knows splitnet" \
    grep -q '^Status: install' <<<"$("${DPKG[@]}" -s splitnet 2>&1)"
assert_eq "host dpkg database still unchanged for splitnet" "$HOST_DPKG_BEFORE" "$(host_dpkg_entry)"

# --- 5. cmake --install into a staging root
e2e_tmpdir STAGE
if DESTDIR=$STAGE cmake --install "$BUILD_DIR" --prefix /usr/local >"$PKG/install.log" 2>&1; then
    pass "cmake --install (DESTDIR, prefix /usr/local)"
else
    fail "cmake --install"
    sed 's/^/#   /' "$PKG/install.log" >&2
fi
check "cmake --install: /opt/cni/bin/splitnet, executable" test -x "$STAGE/opt/cni/bin/splitnet"
check "cmake --install: examples under the prefix" \
    test -f "$STAGE/usr/local/share/doc/splitnet/examples/00-splitnet.conflist"
check_not "cmake --install: nothing under /etc" test -e "$STAGE/etc"

e2e_summary
