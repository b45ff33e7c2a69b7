#!/usr/bin/env bash
# e2e: the `default-route` selection key through the built
# binary. Primary: Debian ptp + host-local with a default route (eth0). Secondary: NAD media/vpn
# with an empty spec.config, so its config is vpn.conf from confDir: native macvlan on a veth
# master, static 192.0.2.10/24, and a default route of its own via 192.0.2.254 (net1). The pod
# annotations come from runtimeConfig "io.kubernetes.cri.pod-annotations" (no pod GET); the NAD
# GET goes to the TLS fixture API server, which runs in the node netns.
#
# Asserts:
# - the pod's only IPv4 default route is via 192.0.2.1 dev net1. eth0's and net1's own default
#   routes are gone: the intended Multus behaviour, not the v4.2.2+ "nothing deleted" bug;
# - the merged result, the stored results, network-status and CHECK agree with the kernel;
# - two IPv4 gateways are rejected with code 7 before anything is created;
# - `default-route: []` leaves no default route;
# - an unreachable gateway fails the ADD, and the rollback leaves nothing behind;
# - with an egress policy, a default route elsewhere is refused (code 7, nothing created), and
#   one via the egress gateway on the egress network is accepted and passes CHECK.
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "$0")/apiserver_lib.sh"
e2e_init
e2e_require_plugins ptp host-local static
e2e_setup_node_pod

# --- API objects, NAD configs, fixture API server ---------------------------------------------
API=${E2E_TMP}/api
CONFDIR=${E2E_TMP}/confdir
mkdir -p "$API/pods/media" "$API/nads/media" "$CONFDIR"
for nad in vpn vpn2 vpnegress; do
    cat >"$API/nads/media/$nad.json" <<EOF
{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",
 "metadata":{"name":"$nad","namespace":"media"},"spec":{"config":""}}
EOF
done
# The pod object (only used by the network-status PUT) has no networks annotation: the networks
# can only come from the runtime's annotations.
cat >"$API/pods/media/web.json" <<'EOF'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"media","uid":"uid-web",
 "resourceVersion":"1","annotations":{}},"spec":{"containers":[{"name":"web","image":"web"}]}}
EOF
cat >"$CONFDIR/vpn.conf" <<EOF
{"cniVersion":"0.3.1","name":"vpn","type":"macvlan","master":"$MASTER","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"192.0.2.10/24"}],
         "routes":[{"dst":"0.0.0.0/0","gw":"192.0.2.254"}]}}
EOF
cat >"$CONFDIR/vpn2.conf" <<EOF
{"cniVersion":"0.3.1","name":"vpn2","type":"macvlan","master":"$MASTER","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"198.51.100.10/24"}]}}
EOF

# An egress policy (docs/egress.md) on the same segment: gateway 192.0.2.1 from static IPAM.
cat >"$CONFDIR/vpnegress.conf" <<EOF
{"cniVersion":"1.0.0","name":"vpnegress","type":"macvlan","master":"$MASTER","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"192.0.2.10/24","gateway":"192.0.2.1"}]},
 "egress":{"keep":["cluster"],"probeGateway":"off","probeConflict":false}}
EOF

TOKEN="e2e-token-$RANDOM$RANDOM"
e2e_on_exit stop_fake_apiserver
start_fake_apiserver "$NODE_NS" "$E2E_TMP" "$API" "$TOKEN" || exit 1
write_kubeconfig "$E2E_TMP" "$TOKEN"

E2E_META_NATIVE=1
SN_CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=uid-web"

# conf ANNOTATION: the meta config with the networks annotation passed by the runtime.
conf() {
    local annotation
    annotation=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1")
    E2E_META_EXTRA="\"kubeconfig\":\"$E2E_TMP/kubeconfig\",\"confDir\":\"$CONFDIR\",\"apiTimeout\":5,
 \"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":{\"k8s.v1.cni.cncf.io/networks\":$annotation}}"
    conf_meta 1.0.0 "$(conf_primary)"
}

# new_pod LABEL: a fresh pod netns and container ID for the next scenario.
new_pod() {
    e2e_new_pod
    SN_CONTAINERID=$(e2e_name "cid-$1")
}

# add_pod LABEL NETWORKS: a fresh pod (new_pod LABEL) and an ADD of CONF, the meta config with
# the networks annotation NETWORKS; the ADD's stdout is kept as E2E_TMP/add-LABEL.json.
add_pod() {
    new_pod "$1"
    CONF=$(conf "$2")
    run_splitnet ADD "$CONF"
    cp "$SN_OUT" "$E2E_TMP/add-$1.json"
}

# del_pod LABEL: DEL of add_pod's pod, the ADD's result as prevResult: it succeeds and leaves
# nothing behind.
del_pod() {
    run_splitnet DEL "$(with_prev "$CONF" "$E2E_TMP/add-$1.json")"
    assert_ok "[$1] DEL succeeds"
    assert_nothing_left "$1, after DEL"
}

# shellcheck disable=SC2317  # called through check
has_net1() { ip -n "$POD_NS" link show dev net1 >/dev/null 2>&1; }
v4_defaults() { ip -n "$POD_NS" -4 route show default; }
v6_defaults() { ip -n "$POD_NS" -6 route show default; }


# --- 1. default-route ["192.0.2.1"] on net1 -----------------------------------------------------
add_pod gw '[{"name":"vpn","default-route":["192.0.2.1"]}]'
assert_ok "[gw] ADD succeeds"
assert_contains "[gw] net1 carries the static IP" "$(ip -n "$POD_NS" -4 -o addr show dev net1)" \
    "192.0.2.10/24"
assert_eq "[gw] the only IPv4 default route is via 192.0.2.1 dev net1" \
    "default via 192.0.2.1 dev net1 " "$(v4_defaults)"
assert_eq "[gw] eth0 has no default route" "" "$(ip -n "$POD_NS" route show default dev eth0)"
assert_eq "[gw] no IPv6 default route" "" "$(v6_defaults)"
assert_pred "[gw] merged result: one default route, via 192.0.2.1" \
    default-routes "$SN_OUT" '[{"dst":"0.0.0.0/0","gw":"192.0.2.1"}]'
assert_pred "[gw] merged result: 192.0.2.10 belongs to net1" ip-owners "$SN_OUT" 192.0.2.10/24 net1
STATE_FILE=$(files_named "$E2E_STATE" "$SN_CONTAINERID" | head -n 1)
assert_pred "[gw] stored results: no default route for eth0, 192.0.2.1 for net1" stored-default-routes \
    "$STATE_FILE" '{"eth0": [], "net1": [{"dst":"0.0.0.0/0","gw":"192.0.2.1"}]}'
assert_pred "[gw] network-status: gateway 192.0.2.1 on net1 ..." \
    status-gateways "$API/pods/media/web.json" net1 192.0.2.1
assert_pred "... and none on eth0" status-gateways "$API/pods/media/web.json" eth0
run_splitnet CHECK "$(with_prev "$CONF" "$E2E_TMP/add-gw.json")"
assert_ok "[gw] CHECK passes against the rewritten results"
del_pod gw

# --- 2. two IPv4 gateways: ECMP, rejected before any work ----------------------------------------
add_pod ecmp '[{"name":"vpn","default-route":["192.0.2.1"]},{"name":"vpn2","default-route":["198.51.100.1"]}]'
assert_error_code "[ecmp] ADD with two IPv4 gateways fails" 7
assert_contains "[ecmp] Multus' message" "$(json_value "$SN_OUT" /msg)" \
    "multus does not support ECMP for default-route"
assert_nothing_left "ecmp"

# --- 3. default-route [] removes every default route ---------------------------------------------
add_pod empty '[{"name":"vpn","default-route":[]}]'
assert_ok "[empty] ADD succeeds"
check "[empty] net1 exists" has_net1
assert_eq "[empty] no IPv4 default route at all" "" "$(v4_defaults)"
assert_eq "[empty] no IPv6 default route at all" "" "$(v6_defaults)"
assert_pred "[empty] merged result lists no default route" default-routes "$E2E_TMP/add-empty.json" '[]'
del_pod empty

# --- 4. an unreachable gateway fails the ADD; the rollback removes everything -------------------
add_pod unreachable '[{"name":"vpn","default-route":["203.0.113.1"]}]'
assert_failed "[unreachable] ADD fails"
assert_contains "[unreachable] the error names the route" "$(json_value "$SN_OUT" /msg)" \
    "default via 203.0.113.1 dev net1"
assert_nothing_left "unreachable"

# --- 5. default-route and an egress policy ------------------------------------------------------
# On another network it would route the internet around the VPN: refused before anything exists.
add_pod egress-leak '[{"name":"vpnegress"},{"name":"vpn2","default-route":["198.51.100.1"]}]'
assert_error_code "[egress-leak] ADD fails" 7
assert_contains "[egress-leak] the error names both networks and the fix" \
    "$(json_value "$SN_OUT" /msg)" \
    'an IPv4 default route via 198.51.100.1 on net2 (network "media/vpn2") would send the pod'"'"'s internet traffic around the VPN; put "default-route": ["192.0.2.1"] on network "media/vpnegress"'
assert_nothing_left "egress-leak"

# On the egress network with its own gateway: accepted, and the egress CHECK still holds.
add_pod egress-same '[{"name":"vpnegress","default-route":["192.0.2.1"]}]'
assert_ok "[egress-same] ADD succeeds"
assert_eq "[egress-same] the only IPv4 default with a device is via 192.0.2.1 dev net1" \
    "default via 192.0.2.1 dev net1" "$(v4_defaults | grep -v '^unreachable' | sed 's/ *$//')"
run_splitnet CHECK "$(with_prev "$CONF" "$E2E_TMP/add-egress-same.json")"
assert_ok "[egress-same] CHECK passes (egress policy and default-route agree)"
del_pod egress-same

e2e_summary
