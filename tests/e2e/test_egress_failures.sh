#!/usr/bin/env bash
# VPN egress failure paths through the built binary: probeGateway "require" with the
# gateway absent, and a static IP already held by another host on the VPN segment. Each ADD must
# fail with a message that says what is wrong and leave nothing behind (no link, no route, no
# lease, no state), and the same ADD must succeed once the cause is gone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
e2e_init
egress_topology

# assert_egress_clean LABEL: nothing left of the pod, and nothing leaked to eth0.
assert_egress_clean() {
    check "[$1] pod netns has only lo" pod_is_empty
    check "[$1] no ptp veth left on the node" node_has_no_pod_veth
    assert_eq "[$1] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
    assert_eq "[$1] no state left for the container" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
    assert_eq "[$1] no leak: nothing reached eth0's node side for the internet" 0 "$(counter "$NODE_NS" leak4)"
}

# --- probeGateway "require", gateway absent (its link is down) ---------------------------------
REQUIRE='{"keep":["cluster"],"probeGateway":"require"}'
CONF=$(conf_vpn_pod "$REQUIRE")
ip -n "$GW_NS" link set gw0 down
reset_counters
run_splitnet ADD "$CONF"
assert_error_code "require + gateway down: ADD fails" 11
assert_contains "... naming the gateway and the master" "$(json_value "$SN_OUT" /msg)" \
    "the VPN gateway 192.168.99.1 did not answer ARP on net1 (master vpn0) within 3 x 100 ms"
assert_egress_clean "require"

# "warn" lets the pod start (the policy is in place, the internet simply does not answer yet).
WARN='{"keep":["cluster"],"probeGateway":"warn"}'
CONF_WARN=$(conf_vpn_pod "$WARN")
run_splitnet ADD "$CONF_WARN"
assert_rc "warn + gateway down: ADD succeeds" 0
assert_contains "... and logs the probe failure" "$(cat "$SN_ERR")" "probeGateway is \"warn\": continuing"
cp "$SN_OUT" "${E2E_TMP}/warn.json"
run_splitnet DEL "$(with_prev "$CONF_WARN" "${E2E_TMP}/warn.json")"
assert_rc "DEL after warn" 0

ip -n "$GW_NS" link set gw0 up
run_splitnet ADD "$CONF"
assert_rc "require + gateway back: the same ADD succeeds" 0
cp "$SN_OUT" "${E2E_TMP}/ok.json"
check "... and the pod reaches the internet" pod_ping "$INET4"
run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/ok.json")"
assert_rc "DEL" 0

# --- conflicting static IP: another host on the segment already holds it -----------------------
ip -n "$GW_NS" addr add 192.168.99.50/24 dev gw0
HOLDER_MAC=$(link_mac "$GW_NS" gw0)
CONF_CONFLICT=$(conf_vpn_pod '{"keep":["cluster"],"probeConflict":true}' 192.168.99.50/24)
reset_counters
run_splitnet ADD "$CONF_CONFLICT"
assert_error_code "conflict: ADD fails" 11
assert_contains "... naming the address and the holder's MAC" "$(json_value "$SN_OUT" /msg)" \
    "192.168.99.50 is already in use on net1's segment by ${HOLDER_MAC} (ARP probe)"
assert_egress_clean "conflict"
assert_eq "conflict: the holder's neighbour cache did not learn our MAC for the address" "" \
    "$(ip -n "$GW_NS" neigh show 192.168.99.50)"

ip -n "$GW_NS" addr del 192.168.99.50/24 dev gw0
run_splitnet ADD "$CONF_CONFLICT"
assert_rc "conflict gone: the same ADD succeeds" 0
cp "$SN_OUT" "${E2E_TMP}/free.json"
run_splitnet DEL "$(with_prev "$CONF_CONFLICT" "${E2E_TMP}/free.json")"
assert_rc "DEL" 0

# --- an invalid egress block fails before anything is created on the VPN side -----------------
BAD='{"keep":["clustr"]}'
CONF_BAD=$(conf_vpn_pod "$BAD")
run_splitnet ADD "$CONF_BAD"
assert_failed "bad keep entry: ADD fails"
assert_contains "... naming the key" "$(json_value "$SN_OUT" /msg)" \
    'egress.keep[0]: "clustr" is neither a preset'
assert_egress_clean "bad config"

e2e_summary
