#!/usr/bin/env bash
# Overlap in ADD (issue 13 item 1): the primary and the networks that need nothing of it are
# added side by side; the result and the state are byte-identical to a sequential ADD's; a
# network with an egress block still waits for the primary; a failure of either side leaves
# nothing behind. ctest also runs this script with E2E_META_OVERLAP=false.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_require_plugins ptp host-local
e2e_setup_node_pod

OVERLAP=${E2E_META_OVERLAP:-true}
MEET=${E2E_TMP}/meet

node_extra_links() {
    node_links | grep -v -x -e lo -e "$MASTER" -e "${MASTER}p"
}

# assert_nothing_left LABEL
assert_nothing_left() {
    assert_eq "[$1] pod has only lo" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "[$1] no veth left on the node side" "" "$(node_extra_links)"
    assert_eq "[$1] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
    assert_eq "[$1] no file of the container left in cniDir" "" \
        "$(find "$E2E_STATE" -name "*${SN_CONTAINERID}*" 2>/dev/null)"
}

# conf_meet NAME ADDRESS COUNT: an e2e-meet delegate whose ADD waits for COUNT ADDs.
conf_meet() {
    conf_fake e2e-meet "$1" "\"fakeAddress\":\"$2\",\"meetDir\":\"$MEET\",\"meetCount\":$3,\"meetVerb\":\"ADD\""
}

# --- the primary and a secondary are added side by side (overlap) -------------------------------
E2E_META_BINDIR=$E2E_PLUGINS
SN_CONTAINERID=$(e2e_name meet)
rm -rf "$MEET" "${E2E_TMP}/spy.log"
mkdir -p "$MEET"
if [[ $OVERLAP == true ]]; then COUNT=2; else COUNT=1; fi
CONF=$(conf_meta 1.0.0 "$(conf_meet cluster 192.0.2.10/24 "$COUNT")" \
    "$(conf_meet second 192.0.2.11/24 "$COUNT")")
run_splitnet ADD "$CONF"
assert_rc "[meet] ADD (overlap=$OVERLAP)" 0
assert_json "[meet] result has eth0 then net1" "[i['name'] for i in r['interfaces']] == ['eth0', 'net1']"
run_splitnet DEL "$CONF"
assert_rc "[meet] DEL" 0

# --- byte-identical result and state with overlap on and off ------------------------------------
declare -A RESULT STATE
for mode in true false; do
    SN_CONTAINERID=$(e2e_name same)
    CONF=$(E2E_META_OVERLAP=$mode conf_meta 1.0.0 "$(conf_fake e2e-ok cluster)" \
        "$(conf_fake e2e-ok second '"fakeAddress":"192.0.2.11/24"')" \
        "$(conf_fake e2e-ok third '"fakeAddress":"192.0.2.12/24"')")
    run_splitnet ADD "$CONF"
    assert_rc "[same overlap=$mode] ADD" 0
    RESULT[$mode]=$(cat "$SN_OUT")
    STATE_FILE=$E2E_STATE/${SN_CONTAINERID}@eth0.json
    TAG=$(json_eval "$STATE_FILE" 'r["addTag"]')
    STATE[$mode]=$(sed "s/$TAG/TAG/" "$STATE_FILE")
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
    "$(json_eval "$SN_OUT" 'r.get("msg", "")')" '"cluster"'
assert_nothing_left "primary fails"
run_splitnet DEL "$CONF"
assert_rc "[primary fails] the runtime's DEL after it" 0
E2E_META_BINDIR=

# --- net1 fails while the primary runs: nothing is left ------------------------------------------
SN_CONTAINERID=$(e2e_name netfail)
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan vpn-broken missing0)")
run_splitnet ADD "$CONF"
assert_failed "[net1 fails] ADD fails"
assert_contains "[net1 fails] the error names net1's network" \
    "$(json_eval "$SN_OUT" 'r.get("msg", "")')" '"vpn-broken"'
assert_nothing_left "net1 fails"

# --- the real thing: ptp + host-local with a native macvlan, and the DEL ------------------------
SN_CONTAINERID=$(e2e_name real)
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan)")
run_splitnet ADD "$CONF"
assert_rc "[real] ADD" 0
assert_json "[real] result has eth0 then net1" \
    "[i['name'] for i in r['interfaces'] if i.get('sandbox')] == ['eth0', 'net1']"
assert_eq "[real] the pod has eth0 and net1" "eth0 lo net1" "$(pod_links | sort | tr '\n' ' ' | sed 's/ $//')"
run_splitnet DEL "$CONF"
assert_rc "[real] DEL" 0
assert_nothing_left "real"
E2E_META_NATIVE=0

e2e_summary
