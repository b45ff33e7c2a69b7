#!/usr/bin/env bash
# VPN egress through the built binary: a ptp primary on eth0 and splitnet's native
# macvlan + static net1 with an "egress" block. Asserted with packet counters and replies:
# internet via the gateway (source-NAT'd), cluster/keep via eth0, the kill switch when the
# gateway goes away (zero packets to the internet via eth0), IPv6 blocked even with a node v6
# default and an RA on the VPN segment, CHECK and DEL.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
egress_e2e_setup

CONF=$(conf_vpn_pod '{"keep":["cluster","192.168.5.0/24"],"ipv6":"block","probeGateway":"require","probeConflict":true}')

run_splitnet ADD "$CONF"
assert_rc "ADD with egress (probeGateway require, probeConflict)" 0 || exit 1
cp "$SN_OUT" "${E2E_TMP}/add.json"
assert_pred "result has eth0 and net1" sandbox-interfaces-sorted "$SN_OUT" eth0 net1

# --- internet via the gateway, source-NAT'd; nothing of it via eth0 ---------------------------
reset_counters
check "pod reaches the internet ($INET4)" pod_ping "$INET4"
check "the echo request arrived at the gateway from the VPN segment" \
    test "$(counter "$GW_NS" "gw_${INET4//./_}")" -ge 1
check "the internet saw the gateway's address (source NAT)" test "$(counter "$INET_NS" natted)" -ge 1
assert_eq "the internet never saw the pod's own address" 0 "$(counter "$INET_NS" raw)"
assert_eq "zero packets to internet addresses left via eth0" 0 "$(counter "$NODE_NS" leak4)"

# --- cluster and keep via eth0 -----------------------------------------------------------------
for d in "$SERVICE" "$NODE_GW" "$LAN"; do
    reset_counters
    check "pod reaches $d" pod_ping "$d"
    check "$d went via eth0 (node-side counter)" test "$(counter "$NODE_NS" "node_${d//./_}")" -ge 1
    assert_eq "$d did not go to the gateway" 0 "$(counter "$GW_NS" "gw_${d//./_}")"
done
# 172.16/12 is not kept here: it goes to the VPN like any other destination.
# Nobody answers it: the request is awaited on the gateway's counter, not read when ping gives up.
reset_counters
pod_ping "$PRIVATE172" 1
check "a non-kept private address ($PRIVATE172) goes to the gateway" \
    wait_for "gw counter" 10 counter_at_least "$GW_NS" "gw_${PRIVATE172//./_}" 1
assert_eq "... and does not use eth0" 0 "$(counter "$NODE_NS" "node_${PRIVATE172//./_}")"

assert_eq "no default route via eth0 in any table" "" \
    "$(ip -n "$POD_NS" route show table all default dev eth0)"
assert_eq "net1 hygiene: rp_filter=2 arp_notify=1 accept_ra=0 autoconf=0" "2 1 0 0" \
    "$(ns_exec "$POD_NS" cat /proc/sys/net/ipv4/conf/net1/rp_filter /proc/sys/net/ipv4/conf/net1/arp_notify \
        /proc/sys/net/ipv6/conf/net1/accept_ra /proc/sys/net/ipv6/conf/net1/autoconf | tr '\n' ' ' | sed 's/ $//')"

# --- CHECK -------------------------------------------------------------------------------------
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "CHECK of the installed policy" 0
ip -n "$POD_NS" route add default via 10.42.0.1 dev eth0 metric 50
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_failed "CHECK fails once a default via eth0 reappears"
assert_contains "... naming the route" "$(cat "$SN_OUT")" 'default via 10.42.0.1 dev eth0 metric 50'
ip -n "$POD_NS" route del default via 10.42.0.1 dev eth0 metric 50

# --- IPv6 blocked: the node offers a v6 default, and an RA arrives on the VPN segment ----------
assert_pred "the primary's result carried a v6 default (the node offers IPv6)" \
    has-route "${E2E_TMP}/add.json" ::/0
# A control macvlan without splitnet on the same segment proves the RA works.
CTRL_NS=$(e2e_name ctrl)
e2e_netns_add "$CTRL_NS"
ip -n "$NODE_NS" link add ctl0 link "$MASTER" type macvlan mode bridge
ip -n "$NODE_NS" link set ctl0 netns "$CTRL_NS"
ns_exec "$CTRL_NS" sysctl -qw net.ipv6.conf.ctl0.accept_dad=0
ip -n "$CTRL_NS" link set ctl0 up
# shellcheck disable=SC2317  # called through wait_for
ctrl_has_v6_default() {
    send_ra "$GW_NS" gw0 2001:db8:99::
    [[ -n $(ip -n "$CTRL_NS" -6 route show default) ]]
}
check "control: an RA from the gateway gives a plain macvlan a v6 default" \
    wait_for "control v6 default" 30 ctrl_has_v6_default
check "control: ... and working IPv6 to the internet" \
    wait_for "control ping6" 30 ns_ping "$CTRL_NS" "$INET6"
# With DAD over on both ends of eth0, IPv6 routed to eth0 would reach the node's counter: the
# zero below is not an artefact of a tentative address.
check "pod: eth0's IPv6 addresses (pod and node end) are past DAD" wait_for_dad "$POD_NS" "$NODE_NS"
reset_counters
check_not "pod: IPv6 to the internet fails" pod_ping "$INET6" 1
assert_eq "pod: zero v6 packets to the internet via eth0" 0 "$(counter "$NODE_NS" leak6)"
assert_eq "pod: zero v6 packets to the internet via the gateway" 0 "$(counter "$GW_NS" gw_inet6)"
assert_eq "pod: the only v6 default is the unreachable guard" "unreachable default dev lo proto 83 metric 11 pref medium" \
    "$(ip -n "$POD_NS" -6 route show table all default | sed 's/ *$//')"
assert_eq "pod: no SLAAC address on net1" "" "$(ip -n "$POD_NS" -6 addr show dev net1 scope global)"

# --- kill switch: gateway link down ------------------------------------------------------------
ip -n "$GW_NS" link set gw0 down
reset_counters
check_not "gateway down: the internet is unreachable" pod_ping "$INET4" 1
check_not "gateway down: CGNAT space is unreachable" pod_ping "$CGNAT" 1
assert_eq "gateway down: zero packets to internet addresses via eth0" 0 "$(counter "$NODE_NS" leak4)"
check "gateway down: the service is still reached via eth0" pod_ping "$SERVICE"
ip -n "$GW_NS" link set gw0 up

# --- kill switch: gateway netns removed (its veth, the master and net1 go with it) -------------
# The kernel tears a deleted netns down asynchronously (cleanup_net on a workqueue, slower under
# load), so poll: the condition must be a function that wait_for re-runs, not a value captured once.
# shellcheck disable=SC2317  # called through wait_for
pod_has_no_net1() { ! pod_links | grep -qx net1; }
e2e_del_netns "$GW_NS"
check "net1 went away with the master" wait_for "net1 gone" 30 pod_has_no_net1
reset_counters
check_not "gateway gone: the internet is unreachable" pod_ping "$INET4" 1
assert_eq "gateway gone: the kernel answers from the guard (EHOSTUNREACH)" \
    "RTNETLINK answers: No route to host" "$(ip -n "$POD_NS" route get "$INET4" 2>&1)"
assert_eq "gateway gone: zero packets to internet addresses via eth0" 0 "$(counter "$NODE_NS" leak4)"
check "gateway gone: the service is still reached via eth0" pod_ping "$SERVICE"

# --- DEL ---------------------------------------------------------------------------------------
run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "DEL" 0
check "DEL: no egress route left" no_egress_routes
check "DEL: pod has only lo" pod_is_empty
check "DEL: no ptp veth left on the node" node_has_no_pod_veth

e2e_summary
