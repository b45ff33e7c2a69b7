#!/usr/bin/env bash
# ADD rollback: when an attachment fails, every attachment already added is
# DELeted in reverse order, nothing is left behind (node veth, host-local lease, state file, pod
# links), the failing attachment's error is returned naming its network, and the same ADD
# succeeds once the cause is fixed. Also: an ifname that already exists fails before any work.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_setup_node_pod

MISSING=vpnmiss0


# --- secondary fails: its macvlan master does not exist -----------------------------------------
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan vpn-broken "$MISSING")")
run_splitnet ADD "$CONF"
assert_failed "[master missing] ADD fails with one CNI error object"
check "[master missing] stdout is exactly one JSON document" is_one_json "$SN_OUT"
assert_contains "[master missing] the error names the failing network" \
    "$(error_text "$SN_OUT")" "vpn-broken"
assert_nothing_left "master missing" "$MISSING"

# The runtime calls DEL after a failed ADD: must succeed.
run_splitnet DEL "$CONF"
assert_rc "[master missing] DEL after the failed ADD" 0

# Fix the cause: the same ADD now succeeds.
ip -n "$NODE_NS" link add "$MISSING" type veth peer name "${MISSING}p"
ip -n "$NODE_NS" link set "$MISSING" up
run_splitnet ADD "$CONF"
assert_rc "[fixed] the same ADD succeeds once the master exists" 0
assert_pred "[fixed] result has eth0 and net1" sandbox-interfaces-sorted "$SN_OUT" eth0 net1
run_splitnet DEL "$CONF"
assert_rc "[fixed] DEL" 0
assert_nothing_left "fixed" "$MISSING"

# --- the third attachment fails with its own code: reverse-order DEL of the others -------------
SN_CONTAINERID=$(e2e_name spy)
rm -f "${E2E_TMP}/spy.log"
E2E_META_BINDIR=$E2E_PLUGINS
CONF=$(conf_meta 1.0.0 "$(conf_fake e2e-ok first)" "$(conf_fake e2e-ok second '"fakeAddress":"192.0.2.11/24"')" \
    "$(conf_fake e2e-fail third)")
run_splitnet ADD "$CONF"
assert_error_code "[spy] the failing delegate's own code is returned" 11
assert_contains "[spy] its msg is kept" "$(json_value "$SN_OUT" /msg)" "try later; busy"
assert_contains "[spy] the error names the failing network" \
    "$(error_text "$SN_OUT")" "third"
SPY=$(cat "${E2E_TMP}/spy.log" 2>/dev/null)
e2e_log "spy log:"$'\n'"$SPY"
if [[ ${E2E_META_OVERLAP:-true} == false ]]; then
    assert_eq "[spy] ADDs ran in order eth0, net1, net2" "eth0 net1 net2" \
        "$(awk '$2 == "ADD" {print $3}' <<<"$SPY" | tr '\n' ' ' | sed 's/ $//')"
else
    # With overlap the three are added side by side (none needs the primary's result).
    assert_eq "[spy] eth0, net1 and net2 were all added" "eth0 net1 net2" \
        "$(awk '$2 == "ADD" {print $3}' <<<"$SPY" | sort | tr '\n' ' ' | sed 's/ $//')"
fi
assert_eq "[spy] rollback DELs net1 then eth0 (the failed net2 may be DELed first)" "net1 eth0" \
    "$(awk '$2 == "DEL" && $3 != "net2" {print $3}' <<<"$SPY" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "[spy] no state file left" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"

# --- the primary fails: no secondary is called (overlap off), or it is rolled back -----------
SN_CONTAINERID=$(e2e_name prim)
rm -f "${E2E_TMP}/spy.log"
CONF=$(conf_meta 1.0.0 "$(conf_fake e2e-fail primary '"failCode":101')" "$(conf_fake e2e-ok second)")
run_splitnet ADD "$CONF"
assert_error_code "[primary fails] plugin-specific code 101 is passed on" 101
if [[ ${E2E_META_OVERLAP:-true} == false ]]; then
    assert_eq "[primary fails] the secondary was never added" "" \
        "$(awk '$1 == "e2e-ok" && $2 == "ADD"' "${E2E_TMP}/spy.log" 2>/dev/null)"
else
    # With overlap the secondary is added while the primary runs: the rollback DELs it.
    assert_eq "[primary fails] the secondary, added side by side, got its DEL" \
        "$(awk '$1 == "e2e-ok" && $2 == "ADD" {print $3}' "${E2E_TMP}/spy.log" 2>/dev/null)" \
        "$(awk '$1 == "e2e-ok" && $2 == "DEL" {print $3}' "${E2E_TMP}/spy.log" 2>/dev/null)"
fi
assert_eq "[primary fails] no state file left" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
E2E_META_BINDIR=

# --- an ifname that already exists in the pod: fail before any work -----------------------------
SN_CONTAINERID=$(e2e_name exists)
ip -n "$POD_NS" link add net1 type veth peer name net1peer
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan)")
run_splitnet ADD "$CONF"
assert_failed "[ifname exists] ADD fails when net1 already exists in the pod"
assert_contains "[ifname exists] the error names the interface" \
    "$(error_text "$SN_OUT")" "net1"
assert_eq "[ifname exists] no host-local lease was taken" "" "$(host_local_leases "$E2E_IPAM")"
assert_eq "[ifname exists] no veth on the node side" "" "$(node_extra_links "$MISSING")"
assert_eq "[ifname exists] the existing net1 is untouched" "net1" "$(pod_links | grep -x net1)"
assert_eq "[ifname exists] no eth0 in the pod" "" "$(pod_links | grep -x eth0)"
ip -n "$POD_NS" link del net1

e2e_summary
