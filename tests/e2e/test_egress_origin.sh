#!/usr/bin/env bash
# Same reachability: the origin's real VPN NAD (31 split routes via
# 192.168.99.1, no egress block) with qBittorrent's annotation values (192.168.99.99/24)
# reaches exactly the same destinations, over the same interfaces, as the egress form with
# keep ["private"]. Measured per destination with counters on both sides (eth0's node end, the
# gateway's VPN side). The difference is where the origin is weak: IPv6 and a lost net1.
#
# The annotation's "ips" reach the static IPAM as args.cni.ips in the delegate config: a
# splitnet-level CNI_ARGS IP= would also reach the primary's host-local, which rejects it.
#
# IPv6 is probed right after each ADD, once duplicate address detection is over on both ends of
# eth0: ptp gives the node end its gateway address fd00:42::1 last, and while that address is
# tentative the node ignores the pod's neighbour solicitation, so a probe sent earlier (at once on
# an idle machine) waits in the pod's neighbour queue and reaches no counter. Probing first, with
# the wait in front, runs the fastest case on every machine. Packets sent without an expected
# reply are awaited on their counter (bounded), not read once when ping gives up.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
e2e_init
egress_topology

origin_routes() {
    local dsts=(0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2
        128.0.0.0/3 160.0.0.0/5 168.0.0.0/6 172.0.0.0/12 172.32.0.0/11 172.64.0.0/10
        172.128.0.0/9 173.0.0.0/8 174.0.0.0/7 176.0.0.0/4 192.0.0.0/9 192.128.0.0/11
        192.160.0.0/13 192.169.0.0/16 192.170.0.0/15 192.172.0.0/14 192.176.0.0/12
        192.192.0.0/10 193.0.0.0/8 194.0.0.0/7 196.0.0.0/6 200.0.0.0/5 208.0.0.0/4 224.0.0.0/3)
    local d json=
    for d in "${dsts[@]}"; do
        json="${json}${json:+,}{\"dst\":\"$d\",\"gw\":\"192.168.99.1\"}"
    done
    printf '%s' "$json"
}

# The origin NAD's config (a conflist, cniVersion 0.3.1), master renamed to the test's veth.
conf_origin() {
    printf '%s' '{"cniVersion":"0.3.1","name":"vpn","plugins":[{"type":"macvlan","master":"'"${MASTER}"'",
 "mode":"bridge","args":{"cni":{"ips":["192.168.99.99/24"]}},
 "ipam":{"type":"static","routes":['"$(origin_routes)"']}}]}'
}

conf_origin >"${E2E_TMP}/origin.conflist"
assert_pred "the origin NAD has 31 routes" length-is "${E2E_TMP}/origin.conflist" /plugins/0/ipam/routes 31

# probe_leak6: one IPv6 echo to the internet from the pod (no reply expected either way).
probe_leak6() {
    reset_counters
    pod_ping "$INET6" 1
}

# --- origin ------------------------------------------------------------------------------------
ORIGIN=$(conf_egress_meta "$(conf_ptp_primary)" "$(conf_origin)")
run_splitnet ADD "$ORIGIN"
assert_rc "origin NAD: ADD" 0 || exit 1
cp "$SN_OUT" "${E2E_TMP}/origin.json"
check "origin: IPv6 addresses of the pod and the node are past DAD" wait_for_dad "$POD_NS" "$NODE_NS"
probe_leak6
check "origin: IPv6 to the internet leaves via eth0 (the origin's v6 leak)" \
    wait_for "leak6" 10 counter_at_least "$NODE_NS" leak6 1
ORIGIN_REACH=$(reachability)
e2e_log "origin: ${ORIGIN_REACH}"
run_splitnet DEL "$(with_prev "$ORIGIN" "${E2E_TMP}/origin.json")"
assert_rc "origin NAD: DEL" 0

# --- egress form -------------------------------------------------------------------------------
EGRESS=$(conf_egress_meta "$(conf_ptp_primary)" \
    "$(conf_vpn_egress 192.168.99.99/24 '{"keep":["private"],"probeGateway":"require"}')")
run_splitnet ADD "$EGRESS"
assert_rc "egress form: ADD" 0 || exit 1
cp "$SN_OUT" "${E2E_TMP}/egress.json"
# The same conditions as the origin's probe: with DAD over, a packet routed to eth0 would arrive.
check "egress form: IPv6 addresses of the pod and the node are past DAD" wait_for_dad "$POD_NS" "$NODE_NS"
probe_leak6
assert_eq "egress: the pod has no IPv6 route to the internet" "RTNETLINK answers: No route to host" \
    "$(ip -n "$POD_NS" -6 route get "$INET6" 2>&1)"
assert_eq "egress: zero IPv6 packets to the internet via eth0" 0 "$(counter "$NODE_NS" leak6)"
EGRESS_REACH=$(reachability)
e2e_log "egress: ${EGRESS_REACH}"

expected="$INET4:yes:net1 $CGNAT:yes:net1 $SERVICE:yes:eth0 $LAN:yes:eth0 $PRIVATE172:yes:eth0 $NODE_GW:yes:eth0"
assert_eq "origin reaches every destination over the expected interface" "$expected" "$ORIGIN_REACH"
assert_eq "egress keep [private] reaches the same destinations over the same interfaces" \
    "$ORIGIN_REACH" "$EGRESS_REACH"

# Where they differ, by design: IPv6 (asserted above, right after each ADD) and a lost net1.
ip -n "$POD_NS" link del net1
reset_counters
pod_ping "$INET4" 1
assert_eq "egress: with net1 gone, zero packets to the internet via eth0" 0 "$(counter "$NODE_NS" leak4)"
run_splitnet DEL "$(with_prev "$EGRESS" "${E2E_TMP}/egress.json")"
assert_rc "egress form: DEL" 0

# The origin with net1 gone falls back to eth0's default: measured, to show what egress prevents.
run_splitnet ADD "$ORIGIN"
assert_rc "origin NAD: ADD again" 0
cp "$SN_OUT" "${E2E_TMP}/origin2.json"
ip -n "$POD_NS" link del net1
reset_counters
pod_ping "$INET4" 1
check "origin: with net1 gone, internet traffic leaks via eth0" \
    wait_for "leak4" 10 counter_at_least "$NODE_NS" leak4 1
run_splitnet DEL "$(with_prev "$ORIGIN" "${E2E_TMP}/origin2.json")"
assert_rc "origin NAD: DEL" 0

e2e_summary
