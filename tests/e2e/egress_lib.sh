# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are for the scripts that source this file
# Topology and helpers for the VPN egress suites (tests/e2e/test_egress_*.sh). Source after
# lib.sh and e2e_init. Everything lives in private named namespaces that lib.sh deletes on exit.
#
#   POD_NS ── eth0 (ptp, 10.42.0.0/24, fd00:42::/64) ── NODE_NS: 10.43.0.1, 192.168.5.1,
#      │                                                        172.16.0.1 on lo ("cluster")
#      └── net1 (macvlan on NODE_NS:vpn0) ── veth ── GW_NS:gw0 192.168.99.1/24, 2001:db8:99::1/64
#                                                       │ forwarding, nft masquerade
#                                                    GW_NS:up0 198.51.100.1/24, 2001:db8:100::1/64
#                                                       │
#                                                    INET_NS:inet0 198.51.100.2/24, 2001:db8:100::2/64
#                                                    lo: 203.0.113.10, 100.64.0.1, 2001:db8:203::10
#
# nft counters (table inet e2e, read with `counter NS NAME`):
#   NODE_NS leak4/leak6: packets to "internet" addresses arriving from a pod veth (eth0's path)
#   NODE_NS node_<dst>: packets to a probe destination arriving from a pod veth
#   GW_NS   gw_<dst>: packets to a probe destination arriving on gw0 from the VPN segment
#   INET_NS natted / raw: packets to 203.0.113.10 from the gateway's address / from the pod's

INET4=203.0.113.10
INET6=2001:db8:203::10
CGNAT=100.64.0.1
SERVICE=10.43.0.1
LAN=192.168.5.1
PRIVATE172=172.16.0.1
NODE_GW=10.42.0.1
PROBE_DSTS=("$INET4" "$CGNAT" "$SERVICE" "$LAN" "$PRIVATE172" "$NODE_GW")

# ns_exec NS CMD...: CMD inside NS. `ip netns exec` finds programs on PATH, not lib.sh's python3
# function, so python3 is mapped to the system interpreter here (a pyenv shim costs ~1 s a call).
ns_exec() {
    local ns=$1
    shift
    [[ $1 == python3 ]] && set -- "$E2E_PYTHON" "${@:2}"
    ip netns exec "$ns" "$@"
}

nft_gw_rules() {
    local d
    echo 'table inet e2e {'
    for d in "${PROBE_DSTS[@]}"; do echo "  counter gw_${d//./_} { }"; done
    echo '  counter gw_inet6 { }'
    echo '  chain pre {'
    echo '    type filter hook prerouting priority -300; policy accept;'
    for d in "${PROBE_DSTS[@]}"; do echo "    iifname \"gw0\" ip daddr $d counter name gw_${d//./_}"; done
    echo "    iifname \"gw0\" ip6 daddr $INET6 counter name gw_inet6"
    echo '  }'
    echo '  chain post {'
    echo '    type nat hook postrouting priority 100; policy accept;'
    echo '    oifname "up0" masquerade'
    echo '  }'
    echo '}'
}

nft_inet_rules() {
    echo 'table inet e2e {'
    echo '  counter natted { }'
    echo '  counter raw { }'
    echo '  chain pre {'
    echo '    type filter hook prerouting priority -300; policy accept;'
    echo "    ip daddr $INET4 ip saddr 198.51.100.1 counter name natted"
    echo "    ip daddr $INET4 ip saddr 192.168.99.0/24 counter name raw"
    echo '  }'
    echo '}'
}

nft_node_rules() {
    local d
    echo 'table inet e2e {'
    echo '  counter leak4 { }'
    echo '  counter leak6 { }'
    for d in "${PROBE_DSTS[@]}"; do echo "  counter node_${d//./_} { }"; done
    echo '  chain pre {'
    echo '    type filter hook prerouting priority -300; policy accept;'
    echo '    iifname "veth*" ip daddr { 203.0.113.0/24, 100.64.0.0/10 } counter name leak4'
    echo '    iifname "veth*" ip6 daddr 2001:db8:203::/48 counter name leak6'
    for d in "${PROBE_DSTS[@]}"; do echo "    iifname \"veth*\" ip daddr $d counter name node_${d//./_}"; done
    echo '  }'
    echo '}'
}

# egress_topology: builds everything above (NODE_NS, POD_NS as lib.sh names them; GW_NS, INET_NS).
egress_topology() {
    NODE_NS=$(e2e_name node)
    POD_NS=$(e2e_name pod)
    POD_NETNS=/var/run/netns/${POD_NS}
    GW_NS=$(e2e_name gw)
    INET_NS=$(e2e_name inet)
    MASTER=vpn0
    local ns
    for ns in "$NODE_NS" "$POD_NS" "$GW_NS" "$INET_NS"; do
        e2e_netns_add "$ns"
    done
    # VPN segment: the macvlan master is the node end of a veth into the gateway netns.
    ip -n "$NODE_NS" link add "$MASTER" type veth peer name gw0 netns "$GW_NS" || exit 1
    ns_exec "$GW_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    ns_exec "$GW_NS" sysctl -qw net.ipv6.conf.gw0.accept_dad=0
    ip -n "$GW_NS" addr add 192.168.99.1/24 dev gw0
    ip -n "$GW_NS" addr add 2001:db8:99::1/64 dev gw0 nodad
    ip -n "$NODE_NS" link set "$MASTER" up
    ip -n "$GW_NS" link set gw0 up
    # Upstream: gateway -> internet.
    ip -n "$GW_NS" link add up0 type veth peer name inet0 netns "$INET_NS" || exit 1
    ip -n "$GW_NS" addr add 198.51.100.1/24 dev up0
    ip -n "$GW_NS" addr add 2001:db8:100::1/64 dev up0 nodad
    ip -n "$INET_NS" addr add 198.51.100.2/24 dev inet0
    ip -n "$INET_NS" addr add 2001:db8:100::2/64 dev inet0 nodad
    ip -n "$GW_NS" link set up0 up
    ip -n "$INET_NS" link set inet0 up
    ip -n "$INET_NS" addr add "$INET4"/32 dev lo
    ip -n "$INET_NS" addr add "$CGNAT"/32 dev lo
    ip -n "$INET_NS" addr add "$INET6"/128 dev lo
    ip -n "$INET_NS" route add default via 198.51.100.1
    ip -n "$INET_NS" -6 route add default via 2001:db8:100::1
    ip -n "$GW_NS" route add 203.0.113.0/24 via 198.51.100.2
    ip -n "$GW_NS" route add 100.64.0.0/10 via 198.51.100.2
    ip -n "$GW_NS" -6 route add 2001:db8:203::/48 via 2001:db8:100::2
    # Cluster side: addresses the node answers itself.
    ip -n "$NODE_NS" addr add "$SERVICE"/32 dev lo
    ip -n "$NODE_NS" addr add "$LAN"/32 dev lo
    ip -n "$NODE_NS" addr add "$PRIVATE172"/32 dev lo

    nft_gw_rules | ns_exec "$GW_NS" nft -f - || exit 1
    nft_inet_rules | ns_exec "$INET_NS" nft -f - || exit 1
    nft_node_rules | ns_exec "$NODE_NS" nft -f - || exit 1
}

# counter NS NAME: packets of a named counter of table inet e2e.
counter() {
    ns_exec "$1" nft -j list counter inet e2e "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([x["counter"] for x in d["nftables"] if "counter" in x][0]["packets"])'
}

reset_counters() {
    local ns
    for ns in "$NODE_NS" "$GW_NS" "$INET_NS"; do
        [[ -e /var/run/netns/$ns ]] && ns_exec "$ns" nft reset counters table inet e2e >/dev/null
    done
    return 0
}

# ns_ping NS DST [SECONDS]: one ICMP echo (v4 or v6) from NS, success when the reply arrives
# within SECONDS (default 5: a reply returns at once, so the bound only matters on a loaded
# machine; checks that expect no reply pass 1 to stay quick). A reply that arrived while the
# interpreter was not scheduled still counts: the socket is read once more after the deadline.
# (python3 raw sockets: the machine has no ping binary.)
ns_ping() {
    ns_exec "$1" python3 - "$2" "${3:-5}" 2>/dev/null <<'PY'
import os, select, socket, struct, sys, time
dst, wait = sys.argv[1], float(sys.argv[2])
v6 = ":" in dst
fam, proto = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
s = socket.socket(fam, socket.SOCK_RAW, proto)
ident = (os.getpid() ^ int(time.time() * 1000)) & 0xFFFF
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF
body = b"splitnet-e2e"
pkt = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + body
if not v6:  # the kernel fills in the ICMPv6 checksum, not the ICMPv4 one
    pkt = pkt[:2] + struct.pack("!H", csum(pkt)) + pkt[4:]
try:
    s.sendto(pkt, (dst, 0))
except OSError:
    sys.exit(1)
deadline = time.monotonic() + wait
while True:
    if not select.select([s], [], [], max(0.0, deadline - time.monotonic()))[0]:
        sys.exit(1)
    data, addr = s.recvfrom(2048)
    if not v6:
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < 8 or addr[0] != dst:
        continue
    typ, _, _, rid, _ = struct.unpack("!BBHHH", data[:8])
    if typ == (129 if v6 else 0) and rid == ident:
        sys.exit(0)
PY
}

pod_ping() { ns_ping "$POD_NS" "$@"; }

# counter_at_least NS NAME N: the counter has counted at least N packets (for wait_for: a packet
# the pod sent without expecting a reply may still wait in a neighbour queue when ping returns).
counter_at_least() { (($(counter "$1" "$2") >= $3)); }

# Delegates (cniVersion 1.0.0; Debian's ptp and host-local for eth0, dual-stack with defaults:
# the node offers both an IPv4 and an IPv6 default route).
conf_ptp_primary() {
    printf '%s' '{"cniVersion":"1.0.0","name":"cluster","type":"ptp","ipMasq":false,
 "ipam":{"type":"host-local","dataDir":"'"${E2E_IPAM}"'",
   "ranges":[[{"subnet":"10.42.0.0/24","gateway":"10.42.0.1"}],[{"subnet":"fd00:42::/64","gateway":"fd00:42::1"}]],
   "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}'
}

# conf_vpn_egress ADDRESS EGRESS_JSON [EXTRA_MEMBERS]: the VPN network as splitnet's native
# macvlan + egress; EXTRA_MEMBERS (e.g. '"mac":"02:..."') are added to the top level.
conf_vpn_egress() {
    printf '%s' '{"cniVersion":"1.0.0","name":"vpn","type":"macvlan","master":"'"${MASTER}"'","mode":"bridge",'"${3:+$3,}"'
 "ipam":{"type":"static","addresses":[{"address":"'"$1"'","gateway":"192.168.99.1"}]},
 "egress":'"$2"'}'
}

# conf_egress_meta DELEGATE...: the meta config, native path on, cluster CIDRs declared;
# "overlap" from E2E_META_OVERLAP as in conf_meta (ctest's .overlap_off variants set it false).
conf_egress_meta() {
    local delegates
    delegates=$(IFS=,; echo "$*")
    local overlap=${E2E_META_OVERLAP:+\"overlap\":$E2E_META_OVERLAP,}
    printf '%s' '{"cniVersion":"1.0.0","name":"pod-net","type":"splitnet","cniDir":"'"${E2E_STATE}"'",
 "binDir":"'"${E2E_CNI_PLUGINS}"'","logLevel":"debug",'"${overlap}"'
 "clusterCIDRs":["10.42.0.0/16","10.43.0.0/16"],
 "delegates":['"${delegates}"']}'
}

# conf_vpn_pod EGRESS_JSON [ADDRESS]: the usual pod of the egress suites: the ptp primary on
# eth0 and the VPN macvlan net1 (ADDRESS, default 192.168.99.99/24) with this egress policy.
conf_vpn_pod() {
    conf_egress_meta "$(conf_ptp_primary)" "$(conf_vpn_egress "${2:-192.168.99.99/24}" "$1")"
}

# egress_e2e_setup: e2e_init, then egress_topology.
egress_e2e_setup() {
    e2e_init
    egress_topology
}

# reachability: for each probe destination "dst:reply:via", via = eth0 / net1 / none, decided by
# which side's counter saw the echo request (not by route text).
reachability() {
    local d out=() reply via n g
    for d in "${PROBE_DSTS[@]}"; do
        reset_counters
        if pod_ping "$d"; then reply=yes; else reply=no; fi
        n=$(counter "$NODE_NS" "node_${d//./_}")
        g=$(counter "$GW_NS" "gw_${d//./_}")
        if ((n > 0 && g == 0)); then
            via=eth0
        elif ((g > 0 && n == 0)); then
            via=net1
        elif ((g == 0 && n == 0)); then
            via=none
        else
            via=both
        fi
        out+=("${d}:${reply}:${via}")
    done
    echo "${out[*]}"
}

# pod_is_empty: only lo in the pod netns.
pod_is_empty() { ! pod_links | grep -q -v -x lo; }

# node_has_no_pod_veth: no ptp host-side veth left on the node.
node_has_no_pod_veth() { ! node_links | grep -q '^veth'; }

# no_egress_routes: nothing with egress's route protocol (83) in the pod.
no_egress_routes() { [[ -z $(ip -n "$POD_NS" route show table all proto 83) ]]; }

# send_ra NS IFNAME PREFIX: one router advertisement (router lifetime 1800 s, prefix PREFIX/64
# with the autonomous flag, source link-layer option) to ff02::1 from IFNAME in NS.
send_ra() {
    local mac
    mac=$(link_mac "$1" "$2")
    ns_exec "$1" python3 - "$2" "$3" "$mac" <<'PY'
import socket, struct, sys
ifname, prefix, mac = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
# type, code, checksum (the kernel fills it in), hop limit, flags, router lifetime, timers
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
ra += struct.pack("!BB", 1, 1) + bytes.fromhex(mac.replace(":", ""))
ra += struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0)
ra += socket.inet_pton(socket.AF_INET6, prefix)
s.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex(ifname)))
PY
}

