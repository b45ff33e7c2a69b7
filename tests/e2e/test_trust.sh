#!/usr/bin/env bash
# e2e (trust boundary): what a pod's annotations and its namespace's NADs can NOT do,
# and what a bad CNI_IFNAME / CNI_NETNS gets, through the built binary against the TLS fixture
# API server (tests/testutil/fake_apiserver.py):
#   1. a NAD of "type": "splitnet" with its own binDir (/bin), logFile and an inner "sh" delegate
#      whose config carries a $(touch ...) canary: refused (code 7), nothing run, no file made;
#      the same through an IPAM type, a path type, a link to splitnet under another name, and a
#      third-party plugin that runs splitnet (the SPLITNET_NESTED marker);
#   2. the default-network annotation pointing into another namespace under namespaceIsolation;
#   3. CNI_IFNAME=e%d (a kernel name template): refused, nothing in the pod;
#   4. a FIFO as CNI_NETNS: an error, not a hang (timeout is only the safety net), for ADD and DEL;
#      DEL with a missing netns still succeeds.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/apiserver_lib.sh"
k8s_e2e_setup

# The node's binDir: splitnet itself is installed there (as on a real node), plus a link to it
# under a harmless-looking name and a "third-party" plugin that runs whatever binary it is given.
BIN=$E2E_TMP/bin
CANARY_DIR=$E2E_TMP/canaries
mkdir -p "$DATA/pods/tenant" "$DATA/nads/tenant" "$DATA/nads/kube-system" "$BIN" "$CANARY_DIR"
ln -s "$SPLITNET_BINARY" "$BIN/splitnet"
ln -s "$SPLITNET_BINARY" "$BIN/innocent"
cat >"$BIN/relay" <<EOF
#!/bin/sh
# A plugin that runs another one (as flannel runs its delegate): here, splitnet.
exec "$SPLITNET_BINARY"
EOF
chmod 0755 "$BIN/relay"

put_pod() { put_pod_object "$DATA" tenant "$@"; }  # NAME ANNOTATIONS_JSON
put_nad() { put_nad_object "$DATA" "$@"; }  # NS NAME CONFIG_JSON

# The attacker's inner delegate: /bin/sh reads its config as a script, so the command
# substitution in a string value runs (as root) if sh is ever started.
canary_delegate() {  # NAME
    # shellcheck disable=SC2016  # the $(...) is meant for the attacker's sh, not for us
    printf '{"cniVersion":"1.0.0","name":"x","type":"sh","c":"$(touch %s/%s)"}' "$CANARY_DIR" "$1"
}
nested_nad() {  # NAME TYPE: a meta config posing as a network
    printf '{"cniVersion":"1.0.0","name":"%s","type":"%s","binDir":"/bin","logFile":"%s/%s.log","cniDir":"%s/%s-state","delegates":[%s]}' \
        "$1" "$2" "$CANARY_DIR" "$1" "$CANARY_DIR" "$1" "$(canary_delegate "$1")"
}

put_nad tenant nested "$(nested_nad nested splitnet)"
put_nad tenant nested-multus "$(nested_nad nested-multus multus)"
put_nad tenant nested-link "$(nested_nad nested-link innocent)"
put_nad tenant nested-relay "$(nested_nad nested-relay relay)"
put_nad tenant nested-ipam "$(printf '{"cniVersion":"1.0.0","name":"nested-ipam","type":"macvlan","master":"%s","binDir":"/bin","delegates":[%s],"ipam":{"type":"splitnet"}}' "$MASTER" "$(canary_delegate nested-ipam)")"
put_nad tenant nested-conflist "$(printf '{"cniVersion":"1.0.0","name":"nested-conflist","plugins":[{"type":"macvlan","master":"%s","ipam":{"type":"static","addresses":[{"address":"10.10.20.5/24"}]}},{"type":"splitnet","binDir":"/bin","delegates":[%s]}]}' "$MASTER" "$(canary_delegate nested-conflist)")"
put_nad tenant path-type '{"cniVersion":"1.0.0","name":"path-type","type":"../../../../bin/sh"}'
put_nad tenant ok-net "$(printf '{"cniVersion":"1.0.0","name":"ok-net","type":"macvlan","master":"%s","mode":"bridge","ipam":{"type":"static","addresses":[{"address":"10.10.20.5/24"}]}}' "$MASTER")"
put_nad kube-system alt-primary "$(printf '{"cniVersion":"1.0.0","name":"alt-primary","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.43.0.0/24","dataDir":"%s"}}' "$E2E_IPAM")"
put_nad tenant own-primary "$(printf '{"cniVersion":"1.0.0","name":"own-primary","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.44.0.0/24","dataDir":"%s"}}' "$E2E_IPAM")"

token="e2e-token-$RANDOM$RANDOM"
e2e_on_exit stop_fake_apiserver
start_fake_apiserver "$NODE_NS" "$E2E_TMP" "$DATA" "$token" --certs-dir "$E2E_TMP/certs" || exit 1
write_kubeconfig "$E2E_TMP" "$token"

node_conf() {  # EXTRA_MEMBERS: the node's config (trusted); binDir holds splitnet itself
    cat <<EOF
{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus","kubeconfig":"$E2E_TMP/kubeconfig",
 "cniDir":"$E2E_STATE","binDir":"$BIN","apiTimeout":5,"logLevel":"debug"${1:+,$1},
 "delegates":[{"cniVersion":"1.0.0","name":"cluster","type":"ptp","ipMasq":false,
   "ipam":{"type":"host-local","subnet":"10.42.0.0/24","dataDir":"$E2E_IPAM"}}]}
EOF
}

k8s_run() {  # VERB POD CONF [VAR=VALUE...]
    local verb=$1 pod=$2 conf=$3
    shift 3
    SN_CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant;K8S_POD_NAME=$pod;K8S_POD_INFRA_CONTAINER_ID=$SN_CONTAINERID;K8S_POD_UID=uid-$pod"
    run_splitnet "$verb" "$conf" "$@"
}

new_case() {
    e2e_new_pod_and_container
}

state_files() { find "$E2E_STATE" -name "*$SN_CONTAINERID*" ! -name '*.lock' 2>/dev/null; }
lease_count() { host_local_leases "$E2E_IPAM" | wc -l; }
# shellcheck disable=SC2317  # called through check
only_lo() { [[ $(pod_links | tr '\n' ' ' | sed 's/ $//') == lo ]]; }
# shellcheck disable=SC2317  # called through check
has_link() { ip -n "$POD_NS" link show dev "$1" >/dev/null 2>&1; }
canaries() { find "$CANARY_DIR" -mindepth 1 2>/dev/null; }

# nothing_left DESC: the pod has only lo, no state, no host-local lease, no canary or nested file.
nothing_left() {
    check "$1: nothing left in the pod (only lo)" only_lo
    assert_eq "$1: no splitnet state" "" "$(state_files)"
    assert_eq "$1: no host-local lease" 0 "$(lease_count)"
    assert_eq "$1: nothing run, no file written (canary, logFile, cniDir)" "" "$(canaries)"
}

CONF=$(node_conf "")

# --- 0. the set-up works: an ordinary NAD is attached --------------------------------------
new_case
put_pod good '{"k8s.v1.cni.cncf.io/networks":"ok-net"}'
k8s_run ADD good "$CONF"
assert_rc "0 an ordinary NAD: ADD" 0
check "0 net1 exists" has_link net1
k8s_run DEL good "$CONF"
assert_rc "0 DEL" 0

# --- 1. NADs naming a meta-plugin, a path, or splitnet under another name -------------------
for nad in nested nested-multus nested-link nested-ipam nested-conflist path-type; do
    new_case
    put_pod "p-$nad" "{\"k8s.v1.cni.cncf.io/networks\":\"$nad\"}"
    k8s_run ADD "p-$nad" "$CONF"
    assert_error_code "1 NAD $nad refused" 7
    msg=$(json_value "$SN_OUT" /msg)
    assert_contains "1 NAD $nad: the error names the network" "$msg" "tenant/$nad"
    nothing_left "1 NAD $nad"
    # The runtime DELs after a failed ADD: without state the networks are resolved again, and the
    # NAD's plugin must not run on that path either.
    k8s_run DEL "p-$nad" "$CONF"
    assert_rc "1 NAD $nad: DEL after the refused ADD" 0
    assert_eq "1 NAD $nad: DEL ran nothing of the NAD's either" "" "$(canaries)"
done

# A plugin of the network runs splitnet itself: the nested splitnet sees the marker and refuses.
new_case
put_pod p-relay '{"k8s.v1.cni.cncf.io/networks":"nested-relay"}'
k8s_run ADD p-relay "$CONF"
assert_error_code "1 a plugin that runs splitnet: refused by the nested splitnet" 7
assert_contains "1 relay: the error says why" "$(error_text "$SN_OUT")" \
    "SPLITNET_NESTED"
nothing_left "1 relay"
k8s_run DEL p-relay "$CONF"
assert_rc "1 relay: DEL after the refused ADD" 0
assert_eq "1 relay: DEL ran nothing of the NAD's either" "" "$(canaries)"

# --- 2. default-network annotation across namespaces under isolation -------------------------
ISOLATED=$(node_conf '"namespaceIsolation":true')
for target in kube-system/alt-primary alt-primary; do
    new_case
    put_pod defnet "{\"v1.multus-cni.io/default-network\":\"$target\"}"
    k8s_run ADD defnet "$ISOLATED"
    assert_error_code "2 default-network $target refused under namespaceIsolation" 7
    msg=$(json_value "$SN_OUT" /msg)
    assert_contains "2 $target: the error names the pod's namespace" "$msg" "namespace tenant"
    assert_contains "2 $target: the error names the target namespace" "$msg" "kube-system"
    nothing_left "2 default-network $target"
done
new_case
put_pod ownnet '{"v1.multus-cni.io/default-network":"tenant/own-primary"}'
k8s_run ADD ownnet "$ISOLATED"
assert_rc "2 default-network from the pod's own namespace: ADD" 0
assert_contains "2 eth0 comes from tenant/own-primary" \
    "$(ip -n "$POD_NS" -o -4 addr show dev eth0 | awk '{print $4}')" 10.44.0.
k8s_run DEL ownnet "$ISOLATED"
assert_rc "2 DEL" 0

# --- 3. CNI_IFNAME with a kernel name template ----------------------------------------------
new_case
put_pod plain '{}'
SN_IFNAME='e%d'
k8s_run ADD plain "$CONF"
assert_error_code "3 CNI_IFNAME=e%d refused" 4
SN_IFNAME=eth0
nothing_left "3 e%d"
check_not "3 no veth left on the node" bash -c "ip -n $NODE_NS -o link show type veth | grep -v ${MASTER}"

# --- 4. a FIFO as CNI_NETNS -----------------------------------------------------------------
new_case
FIFO=$E2E_TMP/netns-fifo
mkfifo "$FIFO"
SN_TIMEOUT=60  # safety net only: a hang is killed and then fails the code assertion
k8s_run ADD plain "$CONF" CNI_NETNS="$FIFO"
assert_error_code "4 ADD with a FIFO as CNI_NETNS" 4
assert_contains "4 the error names the path" "$(json_value "$SN_OUT" /msg)" "$FIFO"
k8s_run DEL plain "$CONF" CNI_NETNS="$FIFO"
assert_error_code "4 DEL with a FIFO as CNI_NETNS" 4
k8s_run ADD plain "$CONF" CNI_NETNS=/proc/self/ns/mnt
assert_error_code "4 ADD with a mount namespace as CNI_NETNS" 4
SN_TIMEOUT=120
assert_eq "4 no lease taken" 0 "$(lease_count)"
k8s_run DEL plain "$CONF" CNI_NETNS="$E2E_TMP/no-such-netns"
assert_rc "4 DEL with a missing netns still succeeds" 0

e2e_summary
