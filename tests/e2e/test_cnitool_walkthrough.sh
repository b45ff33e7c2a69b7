#!/usr/bin/env bash
# The README's manual-testing walkthrough ("Trying it by hand with cnitool"), run as it stands:
# the shell block between the walkthrough markers is extracted from README.md and run with
# `bash -e` in a private mount and network namespace (tmpfs over /var/lib/cni and /run/netns, so
# neither the machine's CNI state nor its netns directory is touched), from a scratch copy of the
# paths it names (build/splitnet is the binary under test). The transcript must show the merged
# result with eth0 and net1, the pod's addresses, a CHECK that passes, and only lo after DEL.
source "$(dirname "$0")/lib.sh"
e2e_init
for tool in go unshare; do
    command -v "$tool" >/dev/null || { echo "SKIPPED: $tool is missing"; exit "$E2E_SKIP_CODE"; }
done
[[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ]] ||
    { echo "SKIPPED: golang-github-appc-cni-dev is missing"; exit "$E2E_SKIP_CODE"; }

WORK=${E2E_TMP}/repo
mkdir -p "${WORK}/build" "${WORK}/tests/libcni"
ln -s "$SPLITNET_BINARY" "${WORK}/build/splitnet"
cp -r "${E2E_SOURCE_DIR}/conf" "${WORK}/conf"
cp "${E2E_SOURCE_DIR}/tests/libcni/driver.go" "${WORK}/tests/libcni/"
sed -n '/<!-- walkthrough:start -->/,/<!-- walkthrough:end -->/p' "${E2E_SOURCE_DIR}/README.md" |
    sed -e '1,/^```sh$/d' -e '/^```$/,$d' >"${E2E_TMP}/walkthrough.sh"
check "the README has a walkthrough block of commands" grep -q 'cnitool add' "${E2E_TMP}/walkthrough.sh"

# Inside: a new netns (the "machine") and mount namespace; /var/lib/cni and /run/netns are
# private tmpfs mounts that vanish with the namespace, as do the netns the walkthrough makes.
cat >"${E2E_TMP}/inside.sh" <<'INSIDE'
set -euo pipefail
mount --make-rprivate /
mkdir -p /var/lib/cni /run/netns
mount -t tmpfs tmpfs /var/lib/cni
mount -t tmpfs tmpfs /run/netns
cd "$1"
set -x
source "$2"
INSIDE
GOCACHE=${E2E_TMP}/gocache timeout 600 unshare --mount --net bash "${E2E_TMP}/inside.sh" \
    "$WORK" "${E2E_TMP}/walkthrough.sh" >"${E2E_TMP}/out" 2>"${E2E_TMP}/err"
rc=$?
assert_eq "every command of the walkthrough succeeds" 0 "$rc" || cat "${E2E_TMP}/err" >&2
OUT=$(cat "${E2E_TMP}/out")
# The merged result: both interfaces, eth0's and net1's addresses.
result=$(python3 - "${E2E_TMP}/out" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
start = text.index("{")
doc, _ = json.JSONDecoder().raw_decode(text[start:])
names = [i["name"] for i in doc["interfaces"] if i.get("sandbox")]
ips = sorted(ip["address"] for ip in doc["ips"])
print(json.dumps([names, [ip.split(".")[0:2] for ip in ips]]))
PY
)
assert_eq "cnitool add prints the merged result: eth0 and net1, 10.10.x and 10.42.x addresses" \
    '[["eth0", "net1"], [["10", "10"], ["10", "42"]]]' "$result"
assert_contains "the pod has net1 with the static address" "$OUT" "10.10.20.5/24"
check "the pod has eth0 from host-local's 10.42.0.0/24" grep -Eq '^eth0@[^ ]+ +UP +10\.42\.0\.[0-9]+/' "${E2E_TMP}/out"
check "the pod's default route is eth0's" grep -Eq '^default via 10\.42\.0\.[0-9]+ dev eth0' "${E2E_TMP}/out"
# `ip -br link` lists by ifindex, lo first: the walkthrough's last output line is lo only when
# eth0 and net1 are gone.
assert_eq "after DEL only lo is left in the pod" "lo" "$(grep -v '^$' "${E2E_TMP}/out" | tail -n 1 | cut -d' ' -f1)"
check "the walkthrough ran check and del" grep -q 'cnitool del splitnet-demo' "${E2E_TMP}/err"
check_not "no netns named by the walkthrough is visible outside its namespace" \
    bash -c 'ip netns list | grep -Eq "^sn-(node|pod)( |$)"'

e2e_summary
