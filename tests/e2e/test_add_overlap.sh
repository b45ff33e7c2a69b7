#!/usr/bin/env bash
# Overlap in ADD: the primary and the networks that need nothing of it are
# added side by side; the result and the state are byte-identical to a sequential ADD's; a
# native network with an egress block makes its link, addresses and routes side by side with the
# primary and applies its egress policy after it; a failure of either side (or of the policy
# after the primary returned) leaves nothing behind. ctest also runs this script with
# E2E_META_OVERLAP=false.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_require_plugins ptp host-local
e2e_setup_node_pod

OVERLAP=${E2E_META_OVERLAP:-true}
MEET=${E2E_TMP}/meet

# assert_clean LABEL: nothing left, not even a lock file.
assert_clean() {
    assert_nothing_left "$1"
    assert_no_file_of_container "$1"
}

# keep_result_and_state MODE: the ADD's result and its state file (with the ADD's random tag
# replaced by "TAG") as RESULT[MODE] and STATE[MODE].
declare -A RESULT STATE
keep_result_and_state() {
    local state_file=$E2E_STATE/${SN_CONTAINERID}@eth0.json tag
    RESULT[$1]=$(cat "$SN_OUT")
    tag=$(json_value "$state_file" /addTag)
    STATE[$1]=$(sed "s/$tag/TAG/" "$state_file")
}

# --- the primary and a secondary are added side by side (overlap) -------------------------------
E2E_META_BINDIR=$E2E_PLUGINS
SN_CONTAINERID=$(e2e_name meet)
rm -rf "$MEET" "${E2E_TMP}/spy.log"
mkdir -p "$MEET"
if [[ $OVERLAP == true ]]; then COUNT=2; else COUNT=1; fi
CONF=$(conf_meta 1.0.0 "$(conf_meet cluster 192.0.2.10/24 "$COUNT" '"meetVerb":"ADD"')" \
    "$(conf_meet second 192.0.2.11/24 "$COUNT" '"meetVerb":"ADD"')")
run_splitnet ADD "$CONF"
assert_rc "[meet] ADD (overlap=$OVERLAP)" 0
assert_pred "[meet] result has two interfaces" length-is "$SN_OUT" /interfaces 2
assert_pred "[meet] ... eth0 first" value-is "$SN_OUT" /interfaces/0/name '"eth0"'
assert_pred "[meet] ... then net1" value-is "$SN_OUT" /interfaces/1/name '"net1"'
run_splitnet DEL "$CONF"
assert_rc "[meet] DEL" 0

# --- byte-identical result and state with overlap on and off ------------------------------------
for mode in true false; do
    SN_CONTAINERID=$(e2e_name same)
    CONF=$(E2E_META_OVERLAP=$mode conf_meta 1.0.0 "$(conf_fake e2e-ok cluster)" \
        "$(conf_fake e2e-ok second '"fakeAddress":"192.0.2.11/24"')" \
        "$(conf_fake e2e-ok third '"fakeAddress":"192.0.2.12/24"')")
    run_splitnet ADD "$CONF"
    assert_rc "[same overlap=$mode] ADD" 0
    keep_result_and_state "$mode"
    run_splitnet DEL "$CONF"
    assert_rc "[same overlap=$mode] DEL" 0
done
assert_eq "[same] the result is byte-identical" "${RESULT[false]}" "${RESULT[true]}"
assert_eq "[same] the state file is byte-identical (but for the ADD's tag)" "${STATE[false]}" \
    "${STATE[true]}"

# --- the primary fails while net1 is made: nothing is left ---------------------------------------
SN_CONTAINERID=$(e2e_name primfail)
E2E_META_NATIVE=1
CONF=$(conf_meta 1.0.0 "$(conf_fake e2e-fail cluster '"failCode":101')" "$(conf_macvlan)")
run_splitnet ADD "$CONF"
assert_error_code "[primary fails] the primary's own code" 101
assert_contains "[primary fails] the error names the primary" \
    "$(json_value "$SN_OUT" /msg)" '"cluster"'
assert_clean "primary fails"
run_splitnet DEL "$CONF"
assert_rc "[primary fails] the runtime's DEL after it" 0
E2E_META_BINDIR=

# --- net1 fails while the primary runs: nothing is left ------------------------------------------
SN_CONTAINERID=$(e2e_name netfail)
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan vpn-broken missing0)")
run_splitnet ADD "$CONF"
assert_failed "[net1 fails] ADD fails"
assert_contains "[net1 fails] the error names net1's network" \
    "$(json_value "$SN_OUT" /msg)" '"vpn-broken"'
assert_clean "net1 fails"

# --- the real thing: ptp + host-local with a native macvlan, and the DEL ------------------------
SN_CONTAINERID=$(e2e_name real)
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan)")
run_splitnet ADD "$CONF"
assert_rc "[real] ADD" 0
assert_pred "[real] result has eth0 then net1" sandbox-interfaces "$SN_OUT" eth0 net1
assert_eq "[real] the pod has eth0 and net1" "eth0 lo net1" "$(pod_links | sort | tr '\n' ' ' | sed 's/ $//')"
run_splitnet DEL "$CONF"
assert_rc "[real] DEL" 0
assert_clean "real"
E2E_META_NATIVE=0

# --- a native net1 with an egress block -------------------------------------------------------
# conf_vpn [EGRESS_JSON] [EXTRA_MEMBERS]: native macvlan + static 10.10.20.5/24 (gateway
# 10.10.20.1, on nobody's segment) with an egress block (default: keep the cluster, no probes).
VPN_EGRESS='{"keep":["cluster"],"probeGateway":"off","probeConflict":false}'
conf_vpn() {
    printf '{"cniVersion":"1.0.0","name":"vpn","type":"macvlan","master":"%s","mode":"bridge",%s
 "ipam":{"type":"static","addresses":[{"address":"10.10.20.5/24","gateway":"10.10.20.1"}]},
 "egress":%s}' "$MASTER" "${2:+$2,}" "${1:-$VPN_EGRESS}"
}
# conf_awaiting_primary [ADDRESS]: ptp + host-local, then e2e-await: the primary's ADD returns
# only once ADDRESS is on a link in the pod (none: at once).
conf_awaiting_primary() {
    local await=
    [[ -n ${1:-} ]] && await=$(printf ',"awaitAddress":"%s"' "$1")
    printf '{"cniVersion":"1.0.0","name":"cluster","plugins":[
 {"type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.42.0.0/24",
  "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s"}},
 {"type":"e2e-await","spyLog":"%s"%s}]}' "$E2E_IPAM" "$E2E_TMP/spy.log" "$await"
}
# assert_no_egress_routes LABEL: nothing with egress's route protocol (83) in the pod.
assert_no_egress_routes() {
    assert_eq "[$1] no egress route left in the pod" "" \
        "$(ip -n "$POD_NS" route show table all proto 83)"
}
E2E_META_NATIVE=1
E2E_META_EXTRA='"clusterCIDRs":["10.42.0.0/16"]'

# Side by side: with overlap the primary's ADD waits until net1 has its address; then the policy
# uses eth0's gateway (the cluster stays on eth0, the default goes to net1).
E2E_META_BINDIR=$E2E_PLUGINS
SN_CONTAINERID=$(e2e_name egress)
if [[ $OVERLAP == true ]]; then AWAIT=10.10.20.5; else AWAIT=; fi
CONF=$(conf_meta 1.0.0 "$(conf_awaiting_primary "$AWAIT")" "$(conf_vpn)")
run_splitnet ADD "$CONF"
assert_rc "[egress] ADD (overlap=$OVERLAP)" 0
assert_pred "[egress] result has eth0 then net1" sandbox-interfaces "$SN_OUT" eth0 net1
assert_contains "[egress] the policy's default goes via net1" \
    "$(ip -n "$POD_NS" route show default)" "default via 10.10.20.1 dev net1"
assert_contains "[egress] the cluster stays on eth0's gateway" \
    "$(ip -n "$POD_NS" route show 10.42.0.0/16)" "dev eth0"
run_splitnet DEL "$CONF"
assert_rc "[egress] DEL" 0
assert_clean "egress"
assert_no_egress_routes "egress"

# Byte-identical result and state with overlap on and off (a fake primary with a fixed result;
# net1 with a fixed MAC; keep nothing, so the policy needs no eth0).
for mode in true false; do
    SN_CONTAINERID=$(e2e_name egsame)
    CONF=$(E2E_META_OVERLAP=$mode conf_meta 1.0.0 "$(conf_fake e2e-ok cluster)" \
        "$(conf_vpn '{"keep":[],"probeGateway":"off","probeConflict":false}' \
            '"mac":"02:00:00:00:20:05"')")
    run_splitnet ADD "$CONF"
    assert_rc "[egress same overlap=$mode] ADD" 0
    keep_result_and_state "$mode"
    run_splitnet DEL "$CONF"
    assert_rc "[egress same overlap=$mode] DEL" 0
    assert_no_egress_routes "egress same overlap=$mode"
done
assert_eq "[egress same] the result is byte-identical" "${RESULT[false]}" "${RESULT[true]}"
assert_eq "[egress same] the state file is byte-identical (but for the ADD's tag)" \
    "${STATE[false]}" "${STATE[true]}"
E2E_META_BINDIR=

# The policy fails after the primary returned (probeGateway "require", and nobody answers for
# 10.10.20.1): the same code and message with overlap on and off, and nothing is left.
declare -A ERROR
for mode in true false; do
    SN_CONTAINERID=$(e2e_name egfail)
    CONF=$(E2E_META_OVERLAP=$mode conf_meta 1.0.0 "$(conf_primary)" \
        "$(conf_vpn '{"keep":["cluster"],"probeGateway":"require","probeConflict":false}')")
    run_splitnet ADD "$CONF"
    assert_error_code "[egress fails overlap=$mode] the policy's code" 11
    ERROR[$mode]=$(cat "$SN_OUT")
    assert_contains "[egress fails overlap=$mode] the error names net1 and the gateway" \
        "$(json_value "$SN_OUT" /msg)" \
        'error adding network "vpn" (net1): egress: the VPN gateway 10.10.20.1 did not answer ARP'
    assert_clean "egress fails overlap=$mode"
    assert_no_egress_routes "egress fails overlap=$mode"
    run_splitnet DEL "$CONF"
    assert_rc "[egress fails overlap=$mode] the runtime's DEL after it" 0
done
assert_eq "[egress fails] the error is byte-identical" "${ERROR[false]}" "${ERROR[true]}"
E2E_META_EXTRA=
E2E_META_NATIVE=0

e2e_summary
