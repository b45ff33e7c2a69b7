#!/usr/bin/env bash
# ADD / CHECK / DEL of a primary (Debian ptp + host-local) plus exec'd secondaries (Debian macvlan
# + static on a veth master, Debian bridge + static), through the built binary, in private
# namespaces. Covers the merged result, re-indexing, result versions, repeated DEL and DEL after
# the pod netns is gone.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_setup_node_pod

# assert_merged VERSION: the last stdout is the merged result for eth0 + net1 + net2.
assert_merged() {
    local v=$1
    check "[$v] stdout is exactly one JSON document" is_one_json "$SN_OUT"
    assert_pred "[$v] result cniVersion is $v" value-is "$SN_OUT" /cniVersion "\"$v\""
    assert_pred "[$v] sandbox interfaces are eth0, net1, net2" \
        sandbox-interfaces-sorted "$SN_OUT" eth0 net1 net2
    assert_pred "[$v] every sandbox interface has sandbox=$POD_NETNS" sandboxes-are "$SN_OUT" "$POD_NETNS"
    assert_pred "[$v] every ips[].interface is in range and points into the sandbox" \
        ips-point-into "$SN_OUT" "$POD_NETNS"
    assert_pred "[$v] exactly three IPs" ip-count "$SN_OUT" 3
    assert_pred "[$v] host-local IP points at eth0" ip-owners "$SN_OUT" 10.42.0. eth0
    assert_pred "[$v] static 10.10.20.5/24 points at net1" ip-owners "$SN_OUT" 10.10.20.5/24 net1
    assert_pred "[$v] static 192.0.2.5/24 points at net2" ip-owners "$SN_OUT" 192.0.2.5/24 net2
    assert_pred "[$v] eth0's IP comes first (containerd takes pod IPs from it)" first-ip-on "$SN_OUT" eth0
    assert_pred "[$v] net1 keeps its gateway 10.10.20.1" ip-gateways "$SN_OUT" 10.10.20.5/24 10.10.20.1
    assert_pred "[$v] primary's default route is in the result" has-route "$SN_OUT" 0.0.0.0/0
    case $v in
    0.*) assert_pred "[$v] ips[].version is '4' everywhere" ip-versions "$SN_OUT" 4 ;;
    *) assert_pred "[$v] no ips[].version" ip-versions "$SN_OUT" absent ;;
    esac
}

# assert_pod_addresses LABEL: the pod netns really has the three interfaces and addresses.
assert_pod_addresses() {
    local f
    f=$(pod_addr_json)
    assert_pred "[$1] pod eth0 has one 10.42.0.x/24 address" link-inet "$f" eth0 '10.42.0.*/24'
    assert_pred "[$1] pod net1 has 10.10.20.5/24" link-inet "$f" net1 10.10.20.5/24
    assert_pred "[$1] pod net2 has 192.0.2.5/24" link-inet "$f" net2 192.0.2.5/24
    assert_eq "[$1] pod default route goes via eth0" "eth0" \
        "$(ip -n "$POD_NS" -4 route show default | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
}

assert_clean_after_del() {
    local label=$1
    assert_eq "[$label] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
    assert_eq "[$label] no state file left for the container" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
    assert_eq "[$label] no veth left on the node side" "" "$(node_links | grep -v -x -e lo -e "$MASTER" -e "${MASTER}p" -e snbr0)"
}

DELEGATES=("$(conf_primary)" "$(conf_macvlan)" "$(conf_bridge)")

# add_all_delegates V LABEL: CONF = the meta config with all DELEGATES at result version V, and
# its ADD (asserted as "[V] LABEL"); on success the result is kept as add-result.json and it and
# the pod netns are checked. Returns non-zero only when the ADD itself failed.
add_all_delegates() {
    local v=$1 label=$2
    CONF=$(conf_meta "$v" "${DELEGATES[@]}")
    run_splitnet ADD "$CONF"
    assert_rc "[$v] $label" 0 || return 1
    cp "$SN_OUT" "${E2E_TMP}/add-result.json"
    assert_merged "$v"
    assert_pod_addresses "$v"
    return 0
}

# --- full lifecycle at 1.0.0 --------------------------------------------------------------------
V=1.0.0
if add_all_delegates "$V" "ADD"; then
    assert_eq "[$V] one host-local lease taken" 1 "$(host_local_leases "$E2E_IPAM" | wc -l)"
    check "[$V] state written under cniDir for the container" test -n "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
    state_file=$(files_named "$E2E_STATE" "$SN_CONTAINERID" | head -n 1)
    assert_eq "[$V] state file mode is 0600" 600 "$(stat -c %a "$state_file" 2>/dev/null)"
fi

run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
assert_rc "[$V] CHECK with prevResult" 0
assert_eq "[$V] CHECK prints nothing" "" "$(tr -d '[:space:]' <"$SN_OUT")"

# CHECK must notice a missing attachment.
ip -n "$POD_NS" link del net2
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
assert_failed "[$V] CHECK fails when net2 was removed behind our back"

run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
assert_rc "[$V] DEL" 0
assert_eq "[$V] DEL prints nothing" "" "$(tr -d '[:space:]' <"$SN_OUT")"
assert_eq "[$V] pod has only lo after DEL" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_clean_after_del "$V DEL"

run_splitnet DEL "$CONF"
assert_rc "[$V] DEL again (no state, no prevResult)" 0
run_splitnet DEL "$CONF"
assert_rc "[$V] DEL a third time" 0

# --- DEL after the pod netns is gone ------------------------------------------------------------
SN_CONTAINERID=$(e2e_name gone)
e2e_new_pod
run_splitnet ADD "$CONF"
assert_rc "[gone] ADD into a fresh pod" 0
assert_eq "[gone] lease taken" 1 "$(host_local_leases "$E2E_IPAM" | wc -l)"
e2e_del_netns "$POD_NS"
run_splitnet DEL "$CONF"
assert_rc "[gone] DEL with CNI_NETNS pointing at a deleted netns" 0
assert_clean_after_del "gone"

# --- DEL with an empty CNI_NETNS: the primary's lease is still released -------------------------
SN_CONTAINERID=$(e2e_name empty)
e2e_new_pod
run_splitnet ADD "$CONF"
assert_rc "[empty-netns] ADD" 0
e2e_del_netns "$POD_NS"
saved_netns=$POD_NETNS
POD_NETNS=""
run_splitnet DEL "$CONF"
POD_NETNS=$saved_netns
assert_rc "[empty-netns] DEL with CNI_NETNS=''" 0
assert_clean_after_del "empty-netns"

# --- result versions ----------------------------------------------------------------------------
for V in 0.3.1 0.4.0 1.1.0; do
    SN_CONTAINERID=$(e2e_name "v${V//./}")
    e2e_new_pod
    add_all_delegates "$V" "ADD (delegates at 1.0.0)"
    if [[ $V != 0.3.1 ]]; then
        run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
        assert_rc "[$V] CHECK" 0
    else
        run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
        assert_failed "[$V] CHECK is refused below 0.4.0"
    fi
    run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
    assert_rc "[$V] DEL" 0
    assert_clean_after_del "$V"
    e2e_del_netns "$POD_NS"
done

# --- net1 created natively by splitnet (macvlan + static without exec) ---------------------------
SN_CONTAINERID=$(e2e_name native)
e2e_new_pod
E2E_META_NATIVE=1
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan)")
E2E_META_NATIVE=0
run_splitnet ADD "$CONF"
if assert_rc "[native] ADD" 0; then
    cp "$SN_OUT" "${E2E_TMP}/add-result.json"
    assert_pred "[native] sandbox interfaces are eth0, net1" sandbox-interfaces-sorted "$SN_OUT" eth0 net1
    assert_pred "[native] static 10.10.20.5/24 points at net1" ip-owners "$SN_OUT" 10.10.20.5/24 net1
    assert_pred "[native] eth0's IP comes first" first-ip-on "$SN_OUT" eth0
    ip -n "$POD_NS" -d -j link show net1 >"${E2E_TMP}/net1.json"
    assert_pred "[native] pod net1 is a macvlan on the node's $MASTER" \
        value-is "${E2E_TMP}/net1.json" /0/linkinfo/info_kind '"macvlan"'
    assert_eq "[native] pod net1 has 10.10.20.5/24" "10.10.20.5/24" \
        "$(ip -n "$POD_NS" -4 -o addr show dev net1 | awk '{print $4}')"
fi
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
assert_rc "[native] CHECK" 0
run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add-result.json")"
assert_rc "[native] DEL" 0
assert_eq "[native] pod has only lo after DEL" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_clean_after_del "native"
run_splitnet DEL "$CONF"
assert_rc "[native] DEL again" 0
e2e_del_netns "$POD_NS"

# --- keys a runtime may add that we must tolerate -------------------------------------------
SN_CONTAINERID=$(e2e_name keys)
e2e_new_pod
CONF=$(python3 -c '
import json, sys
c = json.loads(sys.argv[1])
c.update({"capabilities": {"mac": True, "ips": True}, "runtimeConfig": {"mac": "02:00:00:00:00:aa"},
          "args": {"cni": {"anything": [1, 2]}}, "cni.dev/attachments": [], "someUnknownKey": {"x": 1},
          "prevResult": {"cniVersion": "1.0.0", "interfaces": [], "ips": []}})
print(json.dumps(c))' "$(conf_meta 1.0.0 "$(conf_primary)")")
run_splitnet ADD "$CONF"
assert_rc "[keys] ADD with capabilities, runtimeConfig, args, cni.dev/*, prevResult, unknown keys" 0
assert_pred "[keys] result has eth0" sandbox-interfaces "$SN_OUT" eth0
run_splitnet DEL "$CONF"
assert_rc "[keys] DEL" 0
assert_clean_after_del "keys"

e2e_summary
