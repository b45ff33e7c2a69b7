#!/usr/bin/env bash
# e2e: the remaining Multus drop-in cases, each through the built binary
# against the TLS fixture API server (tests/testutil/fake_apiserver.py):
#   1. two networks (net1, net2) from one annotation; requested interface names (name@ifname and
#      the JSON "interface" member); the merged result;
#   2. rejection under namespaceIsolation (and acceptance through globalNamespaces);
#   3. the v1.multus-cni.io/default-network annotation replacing the primary;
#   4. clusterNetwork given as a NAD name, a file path and a directory path;
#   5. a NAD with an empty spec.config resolved from confDir;
#   6. DEL from a Go Multus scratch cache (migration from Multus);
#   7. hostile pod objects: cni-args nested 120000 levels, a 6 MiB pod;
#   8. the configured primary started while the pod is read ("overlap"), and a kill at each step
#      of such an ADD.
# The plugin and the API server run in a private "node" netns; every pod is a fresh netns. All
# namespaces are deleted on exit (lib.sh).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/apiserver_lib.sh"
k8s_e2e_setup

CONFDIR=$E2E_TMP/confdir
MULTUS_DIR=$E2E_TMP/multus
mkdir -p "$DATA/pods/media" "$DATA/nads/media" "$DATA/nads/other" "$DATA/nads/kube-system" \
    "$CONFDIR" "$MULTUS_DIR"

put_pod() { put_pod_object "$DATA" media "$@"; }  # NAME ANNOTATIONS_JSON
put_nad() { put_nad_object "$DATA" "$@"; }  # NS NAME CONFIG_JSON_OR_EMPTY

# Delegate configs (cniVersion 1.0.0: Debian's plugins stop there).
macvlan_conf() {  # NAME ADDRESS
    printf '{"cniVersion":"1.0.0","name":"%s","type":"macvlan","master":"%s","mode":"bridge","ipam":{"type":"static","addresses":[{"address":"%s"}]}}' \
        "$1" "$MASTER" "$2"
}
ptp_conf() {  # NAME SUBNET
    printf '{"cniVersion":"1.0.0","name":"%s","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"%s","dataDir":"%s"}}' \
        "$1" "$2" "$E2E_IPAM"
}

put_nad media net-a "$(macvlan_conf net-a 10.10.20.5/24)"
put_nad media net-b "$(macvlan_conf net-b 10.10.30.5/24)"
put_nad other net-x "$(macvlan_conf net-x 10.10.50.5/24)"
put_nad kube-system alt-primary "$(ptp_conf alt-primary 10.43.0.0/24)"
put_nad kube-system cluster-nad "$(ptp_conf cluster-nad 10.44.0.0/24)"
put_nad media from-dir ""
# confDir: a decoy first (sorted), then the file the empty NAD names.
macvlan_conf decoy 10.10.99.5/24 >"$CONFDIR/00-decoy.conf"
macvlan_conf from-dir 10.10.40.5/24 >"$CONFDIR/10-from-dir.conf"
ptp_conf cluster-file 10.45.0.0/24 >"$E2E_TMP/cluster-file.conf"
mkdir -p "$E2E_TMP/clusterdir"
ptp_conf cluster-dir-first 10.46.0.0/24 >"$E2E_TMP/clusterdir/00-first.conf"
ptp_conf cluster-dir-second 10.47.0.0/24 >"$E2E_TMP/clusterdir/10-second.conf"

# --- The fixture API server (in the node netns; stopped on exit) -----------------------------
token="e2e-token-$RANDOM$RANDOM"
e2e_on_exit stop_fake_apiserver
start_fake_apiserver "$NODE_NS" "$E2E_TMP" "$DATA" "$token" --certs-dir "$E2E_TMP/certs" || exit 1
write_kubeconfig "$E2E_TMP" "$token"

# k8s_conf EXTRA_MEMBERS: the meta config; without "clusterNetwork" in EXTRA the primary is the
# inline ptp + host-local 10.42.0.0/24.
k8s_conf() {
    local extra=$1 delegates
    delegates=$(ptp_conf cluster 10.42.0.0/24)
    [[ $extra == *clusterNetwork* ]] && delegates=
    cat <<EOF
{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus","kubeconfig":"$E2E_TMP/kubeconfig",
 "cniDir":"$E2E_STATE","confDir":"$CONFDIR","binDir":"$E2E_CNI_PLUGINS","apiTimeout":5,
 "logLevel":"debug"${extra:+,$extra},"delegates":[${delegates}]}
EOF
}

# k8s_run VERB POD CONF: run the binary as the runtime would for pod media/POD in POD_NS.
k8s_run() {
    SN_CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$SN_CONTAINERID;K8S_POD_UID=uid-$2"
    run_splitnet "$1" "$3"
}

# new_case: a fresh pod netns and container id.
new_case() {
    e2e_new_pod_and_container
}

addr_of() { ip -n "$POD_NS" -o -4 addr show dev "$1" 2>/dev/null | awk '{print $4}'; }
# shellcheck disable=SC2317  # called through check/check_not
has_link() { ip -n "$POD_NS" link show dev "$1" >/dev/null 2>&1; }
pod_file() { printf '%s' "$DATA/pods/media/$1.json"; }  # POD: the object the API server holds
state_files() { find "$E2E_STATE" -name "*$SN_CONTAINERID*" ! -name '*.lock' 2>/dev/null; }
lease_count() { host_local_leases "$E2E_IPAM" | wc -l; }

CONF=$(k8s_conf "")

# --- 1a. two networks from one annotation ------------------------------------------------------
new_case
put_pod two '{"k8s.v1.cni.cncf.io/networks":"net-a, net-b"}'
k8s_run ADD two "$CONF"
assert_rc "1a two networks: ADD" 0
cp "$SN_OUT" "$E2E_TMP/add-two.json"
assert_eq "1a net1 carries net-a's address" 10.10.20.5/24 "$(addr_of net1)"
assert_eq "1a net2 carries net-b's address" 10.10.30.5/24 "$(addr_of net2)"
assert_contains "1a eth0 has the primary's address" "$(addr_of eth0)" 10.42.0.
assert_pred "1a merged result: interfaces eth0, net1, net2 in the sandbox" \
    sandbox-interfaces "$E2E_TMP/add-two.json" eth0 net1 net2
assert_pred "1a merged result: IPs of all three, each pointing at its interface ..." \
    ip-networks "$E2E_TMP/add-two.json" eth0:42 net1:10 net2:10
assert_pred "... net-a's and net-b's among them" has-ips "$E2E_TMP/add-two.json" 10.10.20.5/24 10.10.30.5/24
assert_pred "1a merged result: cniVersion of the meta config" value-is "$E2E_TMP/add-two.json" /cniVersion '"1.0.0"'
assert_pred "1a network-status lists cluster, media/net-a (net1), media/net-b (net2)" \
    status-networks "$(pod_file two)" cluster@eth0 media/net-a@net1 media/net-b@net2
k8s_run DEL two "$CONF"
assert_rc "1a DEL" 0
check_not "1a net1 and net2 gone after DEL" bash -c "ip -n $POD_NS link show dev net1 || ip -n $POD_NS link show dev net2" 2>/dev/null

# --- 1b. name@ifname --------------------------------------------------------------------------
new_case
put_pod atname '{"k8s.v1.cni.cncf.io/networks":"net-a@vpn5,net-b"}'
k8s_run ADD atname "$CONF"
assert_rc "1b name@ifname: ADD" 0
assert_eq "1b net-a lands on the requested vpn5" 10.10.20.5/24 "$(addr_of vpn5)"
check_not "1b no net1 for the renamed network" has_link net1
assert_eq "1b net-b keeps its positional name net2" 10.10.30.5/24 "$(addr_of net2)"
assert_pred "1b merged result names vpn5" has-interface "$SN_OUT" vpn5
k8s_run DEL atname "$CONF"
assert_rc "1b DEL" 0
check_not "1b vpn5 gone after DEL" has_link vpn5

# --- 1c. JSON "interface" --------------------------------------------------------------------
new_case
put_pod jsonif '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"net-b\",\"interface\":\"lan7\"},{\"name\":\"net-a\",\"namespace\":\"media\"}]"}'
k8s_run ADD jsonif "$CONF"
assert_rc "1c JSON interface: ADD" 0
assert_eq "1c net-b lands on the requested lan7" 10.10.30.5/24 "$(addr_of lan7)"
assert_eq "1c net-a is net2 (second selection)" 10.10.20.5/24 "$(addr_of net2)"
assert_pred "1c network-status names lan7 and net2" \
    status-networks "$(pod_file jsonif)" ... media/net-b@lan7 media/net-a@net2
k8s_run DEL jsonif "$CONF"
assert_rc "1c DEL" 0
check_not "1c lan7 gone after DEL" has_link lan7

# --- 2. namespace isolation --------------------------------------------------------------------
new_case
put_pod isolated '{"k8s.v1.cni.cncf.io/networks":"other/net-x"}'
leases_before=$(lease_count)
k8s_run ADD isolated "$(k8s_conf '"namespaceIsolation":true')"
assert_error_code "2 cross-namespace NAD refused under namespaceIsolation" 7
msg=$(error_text "$SN_OUT")
assert_contains "2 error names the pod's namespace" "$msg" "namespace media"
assert_contains "2 error names the target namespace" "$msg" "other"
assert_eq "2 nothing left in the pod (only lo)" lo "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_eq "2 no host-local lease left" "$leases_before" "$(lease_count)"
assert_eq "2 no splitnet state left" "" "$(state_files)"
k8s_run ADD isolated "$(k8s_conf '"namespaceIsolation":true,"globalNamespaces":"default,other"')"
assert_rc "2 the same reference is accepted when 'other' is in globalNamespaces" 0
assert_eq "2 net1 carries other/net-x's address" 10.10.50.5/24 "$(addr_of net1)"
k8s_run DEL isolated "$(k8s_conf '"namespaceIsolation":true,"globalNamespaces":"default,other"')"
assert_rc "2 DEL" 0

# --- 3. default-network annotation -----------------------------------------------------------
new_case
put_pod defnet '{"v1.multus-cni.io/default-network":"alt-primary","k8s.v1.cni.cncf.io/networks":"net-a"}'
k8s_run ADD defnet "$CONF"
assert_rc "3 default-network: ADD" 0
assert_contains "3 eth0 comes from kube-system/alt-primary (10.43.0.0/24)" "$(addr_of eth0)" 10.43.0.
check_not "3 the configured primary allocated nothing" test -d "$E2E_IPAM/cluster" -a -n "$(find "$E2E_IPAM/cluster" -name '10.42.*' 2>/dev/null)"
assert_eq "3 net1 still attached" 10.10.20.5/24 "$(addr_of net1)"
assert_contains "3 the configured primary, started while the pod was read, was removed first" \
    "$(cat "$SN_ERR")" 'the pod names its own primary network; removing "cluster"'
assert_pred "3 network-status: kube-system/alt-primary is the default on eth0 ..." \
    status-default "$(pod_file defnet)" kube-system/alt-primary@eth0
assert_pred "... then media/net-a" status-name "$(pod_file defnet)" 1 media/net-a
k8s_run DEL defnet "$CONF"
assert_rc "3 DEL" 0
assert_eq "3 alt-primary lease released" "" "$(find "$E2E_IPAM/alt-primary" -name '10.43.*' 2>/dev/null)"

# --- 4. clusterNetwork as NAD name, file, directory ------------------------------------------
put_pod plain '{}'
for variant in "nad:cluster-nad:10.44.0." "file:$E2E_TMP/cluster-file.conf:10.45.0." \
    "dir:$E2E_TMP/clusterdir:10.46.0."; do
    IFS=: read -r kind value subnet <<<"$variant"
    new_case
    conf=$(k8s_conf "\"clusterNetwork\":\"$value\"")
    k8s_run ADD plain "$conf"
    assert_rc "4 clusterNetwork as a $kind: ADD" 0
    assert_contains "4 clusterNetwork as a $kind: eth0 in ${subnet}0/24" "$(addr_of eth0)" "$subnet"
    k8s_run DEL plain "$conf"
    assert_rc "4 clusterNetwork as a $kind: DEL" 0
    check_not "4 clusterNetwork as a $kind: eth0 gone" has_link eth0
done
assert_eq "4 every host-local lease released" 0 "$(lease_count)"

# --- 5. empty spec.config resolved from confDir ----------------------------------------------
new_case
put_pod fromdir '{"k8s.v1.cni.cncf.io/networks":"from-dir"}'
k8s_run ADD fromdir "$CONF"
assert_rc "5 NAD with empty spec.config: ADD" 0
assert_eq "5 net1 configured from confDir's from-dir (not the decoy)" 10.10.40.5/24 "$(addr_of net1)"
assert_pred "5 network-status names media/from-dir" status-name "$(pod_file fromdir)" 1 media/from-dir
k8s_run DEL fromdir "$CONF"
assert_rc "5 DEL" 0

# --- 6. DEL from a Go Multus cache (migration) -----------------------------------------------
new_case
put_pod migrated '{"k8s.v1.cni.cncf.io/networks":"net-a"}'
k8s_run ADD migrated "$CONF"
assert_rc "6 set-up ADD (as Multus would have done it)" 0
check "6 net1 exists before DEL" has_link net1
lease=$(find "$E2E_IPAM/cluster" -name '10.42.*' 2>/dev/null)
check "6 the primary holds a host-local lease" test -n "$lease"
check "6 splitnet wrote its state for the container" test -n "$(state_files)"
# Forget splitnet's state; write the scratch cache Go Multus would have left instead.
for f in $(state_files); do rm -f "$f"; done
assert_eq "6 no splitnet state before DEL" "" "$(state_files)"
python3 - "$MULTUS_DIR/$SN_CONTAINERID" "$(ptp_conf cluster 10.42.0.0/24)" "$(macvlan_conf net-a 10.10.20.5/24)" <<'PY'
import base64, json, sys
path, primary, secondary = sys.argv[1:4]
def element(raw, name):
    conf = json.loads(raw)
    return {"Conf": {"cniVersion": conf["cniVersion"], "name": conf["name"], "type": conf["type"],
                     "ipam": {"type": conf["ipam"]["type"]}, "dns": {}},
            "ConfList": {"cniVersion": "", "name": "", "plugins": None}, "Name": name,
            "IsFilterV4Gateway": False, "IsFilterV6Gateway": False,
            "Bytes": base64.b64encode(raw.encode()).decode()}
json.dump([element(primary, ""), element(secondary, "media/net-a")], open(path, "w"))
PY
# The pod is gone from the API: only the cache can tell that net-a was attached.
rm -f "$DATA/pods/media/migrated.json"
k8s_run DEL migrated "$(k8s_conf "\"multusCniDir\":\"$MULTUS_DIR\"")"
assert_rc "6 DEL from the Multus cache" 0
check_not "6 net1 gone" has_link net1
check_not "6 eth0 gone" has_link eth0
check_not "6 host-local lease released" test -e "$lease"
assert_contains "6 DEL used the Multus cache" "$(cat "$SN_ERR")" "Go Multus cache"

# --- 7. hostile pod objects --------------------------------------------------------------
# cni-args nested 120000 levels: 240 KB, under Kubernetes' 256 KiB annotation limit. On main ADD
# and DEL crashed (stack overflow), so the sandbox could never be removed. Now ADD fails cleanly
# and DEL succeeds, deleting the cluster network the config names.
new_case
python3 - "$DATA/pods/media/deep.json" <<'PY'
import json, sys
depth = 120000
networks = '[{"name":"net-a","cni-args":{"deep":' + "[" * depth + "]" * depth + "}}]"
assert len(networks) < 256 * 1024
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "deep", "namespace": "media", "uid": "uid-deep", "resourceVersion": "1",
                    "annotations": {"k8s.v1.cni.cncf.io/networks": networks}},
       "spec": {"containers": [{"name": "deep", "image": "busybox"}]}}
json.dump(pod, open(sys.argv[1], "w"))
PY
leases_before=$(lease_count)
k8s_run ADD deep "$CONF"
assert_error_code "7 ADD of a pod whose cni-args nest 120000 levels" 7
assert_contains "7 the error says the annotation is too deep" "$(json_value "$SN_OUT" /msg)" "deeper than the limit"
assert_eq "7 nothing left in the pod (only lo)" lo "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_eq "7 no host-local lease left" "$leases_before" "$(lease_count)"
k8s_run DEL deep "$CONF"
assert_rc "7 DEL of the same pod succeeds" 0
assert_eq "7 no splitnet state left" "" "$(state_files)"

# A pod object above the response limit (4 MiB): refused while reading, ADD fails, DEL works.
new_case
python3 - "$DATA/pods/media/huge.json" <<'PY'
import json, sys
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "huge", "namespace": "media", "uid": "uid-huge", "resourceVersion": "1",
                    "annotations": {"k8s.v1.cni.cncf.io/networks": "net-a",
                                    "padding": "x" * (6 * 1024 * 1024)}},
       "spec": {"containers": [{"name": "huge", "image": "busybox"}]}}
json.dump(pod, open(sys.argv[1], "w"))
PY
k8s_run ADD huge "$CONF"
assert_failed "7 ADD of a 6 MiB pod object"
assert_contains "7 the error names the response limit" "$(json_value "$SN_OUT" /msg)" "larger than 4194304 bytes"
k8s_run DEL huge "$CONF"
assert_rc "7 DEL of the 6 MiB pod" 0
assert_eq "7 every host-local lease released" "$leases_before" "$(lease_count)"

# --- 8. the configured primary starts while the pod is read --------------------------------
new_case
put_pod early '{"k8s.v1.cni.cncf.io/networks":"net-a"}'
k8s_run ADD early "$CONF"
assert_rc "8 ADD" 0
assert_contains "8 the primary was started before the pod was read" "$(cat "$SN_ERR")" \
    'starting network "cluster" while the pod'"'"'s networks are resolved'
assert_eq "8 net1 carries net-a's address" 10.10.20.5/24 "$(addr_of net1)"
k8s_run DEL early "$CONF"
assert_rc "8 DEL" 0
# A kill at each step of that ADD, then the runtime's DEL: nothing is left. The steps are those
# of the early primary (its state, its spawn), of the plan saved meanwhile, and the later ones.
for step in state-saved delegate-spawned@1 plan-saved attachment-added@1 attachment-added@2 added; do
    new_case
    SN_CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=early;K8S_POD_INFRA_CONTAINER_ID=$SN_CONTAINERID;K8S_POD_UID=uid-early"
    run_splitnet ADD "$CONF" SPLITNET_TEST_KILL_AT="$step"
    assert_eq "8 [$step] splitnet was SIGKILLed at the step" 137 "$SN_RC"
    k8s_run DEL early "$CONF"
    assert_rc "8 [$step] DEL after the kill" 0
    assert_nothing_left "8 $step"
done

e2e_summary
