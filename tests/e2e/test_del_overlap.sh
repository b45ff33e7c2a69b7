#!/usr/bin/env bash
# Parallel DEL: with "overlap" (the default) the attachments of a pod are
# deleted side by side; every one is still attempted, the errors are aggregated in reverse plan
# order exactly as a DEL one after another does (same code, byte-identical message), and nothing
# is left behind. ctest also runs this script with E2E_META_OVERLAP=false: then the DELs run
# one after another, last added first.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_require_plugins ptp host-local
e2e_setup_node_pod

OVERLAP=${E2E_META_OVERLAP:-true}
MEET=${E2E_TMP}/meet

spied_dels() {
    awk '$2 == "DEL" {print $3}' "${E2E_TMP}/spy.log" | tr '\n' ' ' | sed 's/ $//'
}

# --- the DELs run side by side (overlap), or one after another, last added first --------------
E2E_META_BINDIR=$E2E_PLUGINS
SN_CONTAINERID=$(e2e_name meet)
rm -rf "$MEET" "${E2E_TMP}/spy.log"
mkdir -p "$MEET"
if [[ $OVERLAP == true ]]; then COUNT=3; else COUNT=1; fi
CONF=$(conf_meta 1.0.0 "$(conf_meet cluster 192.0.2.10/24 "$COUNT")" \
    "$(conf_meet second 192.0.2.11/24 "$COUNT")" "$(conf_meet third 192.0.2.12/24 "$COUNT")")
run_splitnet ADD "$CONF"
assert_rc "[meet] ADD" 0
run_splitnet DEL "$CONF"
if [[ $OVERLAP == true ]]; then
    assert_rc "[meet] DEL: the three attachments' DELs ran side by side" 0
    assert_eq "[meet] every attachment got its DEL" "eth0 net1 net2" \
        "$(spied_dels | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
else
    assert_rc "[meet] DEL one after another" 0
    assert_eq "[meet] DELs in reverse plan order" "net2 net1 eth0" "$(spied_dels)"
fi
assert_eq "[meet] no file of the container left in cniDir" "" \
    "$(find "$E2E_STATE" -name "*${SN_CONTAINERID}*" 2>/dev/null)"

# --- failing DELs: every one attempted, errors aggregated as one after another ------------------
# The same state DELeted with overlap on and off: the same code and the same message, byte for
# byte (the first failure in reverse plan order decides the code).
declare -A DEL_OUT
for mode in true false; do
    SN_CONTAINERID=$(e2e_name "fail-$mode")
    rm -rf "$MEET" "${E2E_TMP}/spy.log"
    mkdir -p "$MEET"
    CONF=$(E2E_META_OVERLAP=$mode conf_meta 1.0.0 "$(conf_meet cluster 192.0.2.10/24 1 '"delFailCode":11')" \
        "$(conf_meet second 192.0.2.11/24 1)" "$(conf_meet third 192.0.2.12/24 1 '"delFailCode":101')")
    run_splitnet ADD "$CONF"
    assert_rc "[fail overlap=$mode] ADD" 0
    run_splitnet DEL "$CONF"
    assert_error_code "[fail overlap=$mode] the last attachment's code" 101
    assert_eq "[fail overlap=$mode] every attachment got its DEL" "eth0 net1 net2" \
        "$(spied_dels | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
    DEL_OUT[$mode]=$(cat "$SN_OUT")
done
assert_eq "[fail] the error is byte-identical with overlap on and off" "${DEL_OUT[false]}" \
    "${DEL_OUT[true]}"
assert_contains "[fail] the message lists net2 then eth0" "${DEL_OUT[true]}" \
    'errors: network \"third\" (net2): DEL of net2 refused / network \"cluster\" (eth0): DEL of eth0 refused'
E2E_META_BINDIR=

# --- the real thing: ptp + host-local (exec'd), two native macvlans + static --------------------
SN_CONTAINERID=$(e2e_name real)
E2E_META_NATIVE=1
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan vpn "$MASTER" 10.10.20.5/24)" \
    "$(conf_macvlan lab "$MASTER" 10.10.30.5/24)")
run_splitnet ADD "$CONF"
assert_rc "[real] ADD" 0
assert_eq "[real] the pod has eth0, net1 and net2" "eth0 lo net1 net2" \
    "$(pod_links | sort | tr '\n' ' ' | sed 's/ $//')"
run_splitnet DEL "$CONF"
assert_rc "[real] DEL" 0
assert_eq "[real] pod has only lo" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_eq "[real] no veth left on the node side" "" "$(node_extra_links)"
assert_eq "[real] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
assert_eq "[real] no file of the container left in cniDir" "" \
    "$(find "$E2E_STATE" -name "*${SN_CONTAINERID}*" 2>/dev/null)"
E2E_META_NATIVE=0

e2e_summary
