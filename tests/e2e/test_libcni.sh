#!/usr/bin/env bash
# The real runtime library: Debian's libcni (1.1.2) drives a conflist whose first plugin is
# splitnet (ptp + host-local primary, exec'd macvlan + static secondary), followed by Debian's
# tuning, which must accept splitnet's merged result as prevResult. AddNetworkList, CheckNetworkList (>= 0.4.0) and DelNetworkList succeed
# for 0.3.1, 0.4.0 and 1.0.0; DEL twice succeeds; a cnitool-style flow (NETCONFPATH + name,
# container ID derived from the netns path) works end to end, also with the config and binary
# that `splitnet install` puts on a node.
# 1.1.0 is not covered here: libcni 1.1.2 only knows result versions up to 1.0.0.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_setup_node_pod

command -v go >/dev/null || { fail "go is not installed (golang-go)"; e2e_summary; }

# Build the driver against Debian's libcni source (GOPATH mode, private build cache).
DRIVER=${E2E_TMP}/libcni-driver
if ! (cd "${E2E_SOURCE_DIR}/tests/libcni" &&
    GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS='' GOCACHE="${E2E_TMP}/gocache" \
        go build -o "$DRIVER" driver.go); then
    fail "build tests/libcni/driver.go against /usr/share/gocode (golang-github-appc-cni-dev)"
    e2e_summary
fi
pass "libcni driver built"

# The plugin dirs libcni searches (and passes on as CNI_PATH): splitnet, then Debian's plugins.
PLUGIN_DIR=${E2E_TMP}/bin
EMPTY_BIN=${E2E_TMP}/empty-bin
mkdir -p "$PLUGIN_DIR" "$EMPTY_BIN"
ln -s "$(readlink -f "$SPLITNET_BINARY")" "${PLUGIN_DIR}/splitnet"
CNI_PATH_LIST=${PLUGIN_DIR}:${E2E_CNI_PLUGINS}
CACHE=${E2E_TMP}/libcni-cache
TUNING_DATA=${E2E_TMP}/tuning
MAC=02:42:c0:a8:00:63

# conflist VERSION: splitnet (no binDir match: delegates come from CNI_PATH) + tuning.
conflist() {
    cat <<EOF
{"cniVersion":"$1","name":"libcni-net","plugins":[
 {"type":"splitnet","cniDir":"${E2E_STATE}","binDir":"${EMPTY_BIN}","disableNative":true,
  "delegates":[$(conf_primary),$(conf_macvlan)]},
 {"type":"tuning","capabilities":{"mac":true},"dataDir":"${TUNING_DATA}",
  "sysctl":{"net.ipv4.conf.eth0.arp_ignore":"1"}}]}
EOF
}

DRV_OUT=${E2E_TMP}/driver.stdout
DRV_ERR=${E2E_TMP}/driver.stderr

# drive VERB ARGS...: run the driver in the node netns; sets SN_RC/SN_OUT/SN_ERR for assertions.
drive() {
    ip netns exec "$NODE_NS" timeout -s KILL 120 "$DRIVER" "$@" -path "$CNI_PATH_LIST" \
        -cachedir "$CACHE" >"$DRV_OUT" 2>"$DRV_ERR"
    SN_RC=$?
    SN_OUT=$DRV_OUT
    SN_ERR=$DRV_ERR
}

assert_pod_state() {
    local v=$1 f
    f=$(pod_addr_json)
    assert_pred "[$v] pod eth0 has the MAC that tuning set" link-mac "$f" eth0 "$MAC"
    assert_pred "[$v] pod net1 has 10.10.20.5/24" link-inet "$f" net1 10.10.20.5/24
    assert_eq "[$v] tuning's sysctl is set on eth0" 1 \
        "$(ip netns exec "$POD_NS" cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)"
}

assert_clean() {
    assert_eq "[$1] pod has only lo" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "[$1] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
    assert_eq "[$1] no splitnet state left" "" "$(find "$E2E_STATE" -type f ! -name '*.lock' ! -name outcomes.log 2>/dev/null)"
}

drive version -plugin splitnet
assert_rc "libcni's VERSION probe of splitnet" 0
assert_pred "libcni sees 0.3.1, 0.4.0 and 1.0.0" supports-versions "$SN_OUT" 0.3.1 0.4.0 1.0.0

for V in 0.3.1 0.4.0 1.0.0; do
    e2e_new_pod
    LIST=${E2E_TMP}/list-${V}.conflist
    conflist "$V" >"$LIST"
    CID=$(e2e_name "libcni${V//./}")
    common=(-conflist "$LIST" -netns "$POD_NETNS" -containerid "$CID" -ifname eth0
        -args "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-${V//./}"
        -capargs "{\"mac\":\"${MAC}\"}")

    drive validate -conflist "$LIST"
    assert_rc "[$V] ValidateNetworkList (splitnet and tuning support $V)" 0

    drive add "${common[@]}"
    if assert_rc "[$V] AddNetworkList" 0; then
        assert_pred "[$V] result cniVersion is $V" value-is "$SN_OUT" /cniVersion "\"$V\""
        assert_pred "[$V] result keeps eth0 and net1 after tuning" sandbox-interfaces-sorted "$SN_OUT" eth0 net1
        assert_pred "[$V] tuning updated eth0's MAC in the result" interface-macs "$SN_OUT" eth0 "$MAC"
        assert_pred "[$V] eth0's IP comes first" first-ip-on "$SN_OUT" eth0
        assert_pred "[$V] 10.10.20.5/24 points at net1" ip-owners "$SN_OUT" 10.10.20.5/24 net1
        assert_pod_state "$V"
    fi

    if [[ $V != 0.3.1 ]]; then
        drive check "${common[@]}"
        assert_rc "[$V] CheckNetworkList (cached result as prevResult)" 0
    fi

    drive del "${common[@]}"
    assert_rc "[$V] DelNetworkList" 0
    assert_clean "$V"
    drive del "${common[@]}"
    assert_rc "[$V] DelNetworkList again" 0
    e2e_del_netns "$POD_NS"
done

# --- cnitool-style: NETCONFPATH + network name, container ID derived from the netns path --------
NETCONF=${E2E_TMP}/net.d
mkdir -p "$NETCONF"
conflist 1.0.0 >"${NETCONF}/10-libcni-net.conflist"
e2e_new_pod
tool=(-netconfpath "$NETCONF" -name libcni-net -netns "$POD_NETNS" -capargs "{\"mac\":\"${MAC}\"}")
drive add "${tool[@]}"
assert_rc "[cnitool] add" 0
drive check "${tool[@]}"
assert_rc "[cnitool] check" 0
drive del "${tool[@]}"
assert_rc "[cnitool] del" 0
drive del "${tool[@]}"
assert_rc "[cnitool] del twice" 0
assert_clean "cnitool"

# --- what `splitnet install` writes, run by libcni as a runtime runs a node's config ------------
# The master is a ptp + host-local conflist; the installer copies the binary and generates
# 00-splitnet.conflist around it. Only cniDir is moved into this test's temp dir afterwards (the
# installer leaves it at the node default, /var/lib/cni/splitnet).
NODE_NETD=${E2E_TMP}/node-net.d
NODE_BIN=${E2E_TMP}/node-bin
mkdir -p "$NODE_NETD"
printf '{"cniVersion":"1.0.0","name":"cluster","plugins":[%s]}\n' "$(conf_primary)" \
    >"${NODE_NETD}/10-cluster.conflist"
env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT "$SPLITNET_BINARY" install --once \
    --cni-bin-dir="$NODE_BIN" --cni-conf-dir="$NODE_NETD" --multus-autoconfig-dir="$NODE_NETD" \
    --multus-cni-conf-dir="${E2E_TMP}/node-multus" --additional-bin-dir="$EMPTY_BIN" \
    2>"${E2E_TMP}/install.log"
assert_eq "[installed] splitnet install --once" 0 "$?"
python3 - "${NODE_NETD}/00-splitnet.conflist" "$E2E_STATE" <<'PY'
import json, sys
path, state = sys.argv[1:3]
doc = json.load(open(path))
doc["plugins"][0]["cniDir"] = state
json.dump(doc, open(path, "w"))
PY
e2e_new_pod
installed=(-netconfpath "$NODE_NETD" -name splitnet-cni-network -netns "$POD_NETNS")
saved_path=$CNI_PATH_LIST
CNI_PATH_LIST=${NODE_BIN}:${E2E_CNI_PLUGINS}
drive add "${installed[@]}"
assert_rc "[installed] libcni ADD with the generated config and the installed binary" 0
assert_pred "[installed] the result has the pod's eth0 from the master (ptp)" sandbox-interfaces "$SN_OUT" eth0
drive check "${installed[@]}"
assert_rc "[installed] CHECK" 0
drive del "${installed[@]}"
assert_rc "[installed] DEL" 0
CNI_PATH_LIST=$saved_path
assert_clean "installed"

e2e_summary
