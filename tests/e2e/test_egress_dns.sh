#!/usr/bin/env bash
# DNS through the VPN without breaking cluster names. A pod with egress.dns resolves
# through its cluster DNS Service IP as always; the plugin put that address on the pod's lo and
# the node agent (`splitnet install --cluster-dns`) answers there from a socket in the pod's
# netns: cluster names go to the "cluster DNS" in the node netns, every other name through net1
# and the VPN gateway to the "VPN resolver" in the internet netns. Asserted with the servers'
# own query logs and nft counters: zero DNS packets for other names via eth0 or the node, fail
# closed while the agent is down, and service again when it is back, without a new ADD.
# shellcheck disable=SC2317  # functions called through wait_for / e2e_on_exit
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
e2e_init
egress_topology

DNS_DIR=$(dirname "$0")/dns
CLUSTER_DNS=10.43.0.10
VPN_RESOLVER=203.0.113.53
CLUSTER_NAME=qbittorrent.media.svc.cluster.local
OTHER_NAME=tracker.example
CLUSTER_LOG=${E2E_TMP}/cluster-dns.log
VPN_LOG=${E2E_TMP}/vpn-resolver.log
AGENT_LOG=${E2E_TMP}/agent.log
touch "$CLUSTER_LOG" "$VPN_LOG"

# --- the servers -------------------------------------------------------------------------------
ip -n "$NODE_NS" addr add "$CLUSTER_DNS"/32 dev lo
ip -n "$INET_NS" addr add "$VPN_RESOLVER"/32 dev lo
ns_exec "$NODE_NS" python3 "$DNS_DIR/dns_server.py" "$CLUSTER_DNS" "$CLUSTER_LOG" 10.43.7.7 cluster.local &
e2e_on_exit "kill $!"
ns_exec "$INET_NS" python3 "$DNS_DIR/dns_server.py" "$VPN_RESOLVER" "$VPN_LOG" 203.0.113.80 &
e2e_on_exit "kill $!"
# DNS counters next to egress_lib's: queries a pod sends through eth0 (arriving from a veth),
# queries leaving the node netns for anything but the cluster DNS, and queries on the VPN segment.
ns_exec "$NODE_NS" nft -f - <<EOF2 || exit 1
table inet e2e {
  counter dns_via_eth0 { }
  counter dns_node_other { }
  chain dns_pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "veth*" meta l4proto { udp, tcp } th dport 53 counter name dns_via_eth0
  }
  chain dns_out {
    type filter hook output priority -300; policy accept;
    meta l4proto { udp, tcp } th dport 53 ip daddr != $CLUSTER_DNS counter name dns_node_other
  }
}
EOF2
ns_exec "$GW_NS" nft -f - <<EOF2 || exit 1
table inet e2e {
  counter dns_vpn { }
  chain dns_pre {
    type filter hook prerouting priority -300; policy accept;
    iifname "gw0" ip daddr $VPN_RESOLVER meta l4proto { udp, tcp } th dport 53 counter name dns_vpn
  }
}
EOF2
server_up() { ns_exec "$1" python3 "$DNS_DIR/dns_query.py" "$2" udp "$3" 2 >/dev/null; }
check "the cluster DNS answers in the node netns" wait_for cluster-dns 30 server_up "$NODE_NS" "$CLUSTER_DNS" "$CLUSTER_NAME"
check "the VPN resolver answers in the internet netns" wait_for vpn-resolver 30 server_up "$INET_NS" "$VPN_RESOLVER" "$OTHER_NAME"
: >"$CLUSTER_LOG"
: >"$VPN_LOG"

# --- ADD: the cluster DNS Service IP on the pod's lo -------------------------------------------
EGRESS='{"keep":["cluster"],"probeGateway":"require","dns":{"servers":["'"$VPN_RESOLVER"'"],"clusterDomain":"cluster.local"}}'
META=$(conf_vpn_pod "$EGRESS")
with_cluster_dns() { python3 -c 'import json,sys; c=json.load(sys.stdin); c["clusterDNS"]="'"$CLUSTER_DNS"'"; print(json.dumps(c))'; }
CONF=$(printf '%s' "$META" | with_cluster_dns)

run_splitnet ADD "$META"
assert_failed "ADD with egress.dns but no clusterDNS in the node config fails"
assert_contains "... saying what to set" "$(cat "$SN_OUT")" "--cluster-dns"
check "... and leaves nothing behind" pod_is_empty

# Kill-safe: a SIGKILL right after the address went on lo (the step after the egress policy);
# the state written before net1 existed lets the DEL take it off again.
MAIN_CID=$SN_CONTAINERID
SN_CONTAINERID=$(e2e_name killed)
run_splitnet ADD "$CONF" SPLITNET_TEST_KILL_AT=native-egress
assert_eq "SIGKILL after the egress step" 137 "$SN_RC"
assert_contains "... the address was on lo" "$(ip -n "$POD_NS" -4 addr show dev lo)" "inet ${CLUSTER_DNS}/32"
run_splitnet DEL "$CONF"
assert_rc "DEL after the kill" 0
assert_eq "... took the address off lo" "" "$(ip -n "$POD_NS" -4 addr show dev lo | grep -F "$CLUSTER_DNS")"
check "... and left nothing else" pod_is_empty
SN_CONTAINERID=$MAIN_CID

run_splitnet ADD "$CONF"
assert_rc "ADD with egress.dns" 0 || { sn_dump; exit 1; }
cp "$SN_OUT" "${E2E_TMP}/add.json"
assert_contains "the cluster DNS Service IP is on the pod's lo" \
    "$(ip -n "$POD_NS" -4 addr show dev lo)" "inet ${CLUSTER_DNS}/32"
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "CHECK with egress.dns" 0
# The pod's listening sockets on :53 (ss must work: its exit status is checked).
pod_port53() {
    local out
    out=$(ip netns exec "$POD_NS" ss -Hlntu) || { echo "ss failed"; return; }
    awk '$5 ~ /:53$/' <<<"$out"
}
pod_query() { ns_exec "$POD_NS" python3 "$DNS_DIR/dns_query.py" "$CLUSTER_DNS" "$@"; }
check_not "no agent yet: the cluster name fails (nothing listens in the pod)" pod_query udp "$CLUSTER_NAME" 2
check_not "no agent yet: the other name fails" pod_query udp "$OTHER_NAME" 2

# --- the node agent ---------------------------------------------------------------------------
# --gateway-probe-interval=1h: the agent's periodic round never comes during this test, so every
# start and stop of a pod's DNS below is the agent following the state directory (inotify).-
mkdir -p "${E2E_TMP}/etc" "${E2E_TMP}/netd" "${E2E_TMP}/bin" "${E2E_TMP}/multusd" "${E2E_TMP}/sa"
printf '%s' "$CONF" >"${E2E_TMP}/etc/00-splitnet.conf"
AGENT_PID=
start_agent() {
    ip netns exec "$NODE_NS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        "$SPLITNET_BINARY" install --service-account-dir="${E2E_TMP}/sa" \
        --multus-conf-file="${E2E_TMP}/etc/00-splitnet.conf" --cni-conf-dir="${E2E_TMP}/netd" \
        --cni-bin-dir="${E2E_TMP}/bin" --multus-cni-conf-dir="${E2E_TMP}/multusd" \
        --skip-multus-binary-copy --guard-bypassed-pods=false --metrics-bind-address=127.0.0.1:9234 \
        --gateway-probe-interval=1h --cluster-dns="$CLUSTER_DNS" 2>>"$AGENT_LOG" &
    AGENT_PID=$!
}
stop_agent() {
    [[ -n $AGENT_PID ]] || return 0
    kill -TERM "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    AGENT_PID=
}
e2e_on_exit stop_agent
start_agent
# answers NAME ADDRESS: one UDP query from the pod gets ADDRESS (for wait_for: a query lost to a
# loaded machine is simply asked again).
answers() { [[ $(pod_query udp "$1" 5 2>/dev/null) == "$2" ]]; }
check "the pod resolves $CLUSTER_NAME (cluster DNS)" \
    wait_for cluster-name 60 answers "$CLUSTER_NAME" 10.43.7.7 || { cat "$AGENT_LOG" >&2; exit 1; }
reset_counters
check "the pod resolves $OTHER_NAME (VPN resolver)" wait_for other-name 60 answers "$OTHER_NAME" 203.0.113.80
tcp_answers() { [[ $(pod_query tcp "$CLUSTER_NAME" "$OTHER_NAME" 2>/dev/null) == "10.43.7.7 203.0.113.80" ]]; }
check "over TCP, two pipelined queries on one connection, ids and framing kept" wait_for tcp 60 tcp_answers
big_answers() { [[ $(pod_query tcp "big.$OTHER_NAME" "$OTHER_NAME" 2>/dev/null) == "203.0.113.80 203.0.113.80" ]]; }
check "over TCP, a 6 KiB reply (more than UDP's 4096) is relayed whole" wait_for big 60 big_answers
nslookup_gets() {
    ns_exec "$POD_NS" busybox nslookup -type=a "$1" "$CLUSTER_DNS" | grep -qx "Address: $2"
}
check "busybox nslookup (another resolver) gets the cluster name" \
    wait_for nslookup-cluster 60 nslookup_gets "$CLUSTER_NAME" 10.43.7.7
check "busybox nslookup gets the other name" wait_for nslookup-other 60 nslookup_gets "$OTHER_NAME" 203.0.113.80

assert_eq "the VPN resolver saw $OTHER_NAME only from the gateway's NAT address" \
    "198.51.100.1" "$(awk -v n="$OTHER_NAME" '$3 == n { print $2 }' "$VPN_LOG" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "the VPN segment carried the queries (gateway counter)" test "$(counter "$GW_NS" dns_vpn)" -ge 3
assert_eq "the cluster DNS never saw $OTHER_NAME" "" "$(grep -F " $OTHER_NAME" "$CLUSTER_LOG")"
assert_eq "the VPN resolver never saw a cluster name" "" "$(grep -F "cluster.local" "$VPN_LOG")"
assert_eq "zero DNS packets via eth0" 0 "$(counter "$NODE_NS" dns_via_eth0)"
assert_eq "zero DNS packets from the node to anything but the cluster DNS" 0 "$(counter "$NODE_NS" dns_node_other)"

assert_eq "the agent listens on UDP and TCP ${CLUSTER_DNS}:53 in the pod" 2 \
    "$(pod_port53 | grep -c "${CLUSTER_DNS}:53")"
# metric NAME_WITH_LABELS: its value on the agent's /metrics (node netns loopback), or "none".
metric() {
    ns_exec "$NODE_NS" python3 - "$1" <<'PY'
import re, sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:9234/metrics", timeout=10).read().decode()
m = re.search("^" + re.escape(sys.argv[1]) + r" (\S+)$", text, re.M)
print(m.group(1) if m else "none")
PY
}
metric_at_least() { local v; v=$(metric "$1"); [[ $v != none ]] && (($(printf '%.0f' "$v") >= $2)); }
assert_eq "metrics: one pod served" 1 "$(metric splitnet_dns_pods_served)"
check "metrics: queries answered via the VPN are counted" metric_at_least 'splitnet_dns_queries_total{result="vpn"}' 3
check "metrics: ... and via the cluster DNS" metric_at_least 'splitnet_dns_queries_total{result="cluster"}' 3
assert_eq "metrics: nothing dropped yet" 0 "$(metric 'splitnet_dns_queries_total{result="dropped"}')"
check "malformed queries are dropped, not answered" pod_query garbage
check "metrics: the 7 malformed queries are counted as dropped" \
    wait_for dropped 30 metric_at_least 'splitnet_dns_queries_total{result="dropped"}' 7
check "... and the agent still answers afterwards" wait_for still 60 answers "$CLUSTER_NAME" 10.43.7.7

# --- fail closed: the VPN gateway down --------------------------------------------------------
ip -n "$GW_NS" link set gw0 down
reset_counters
vpn_before=$(wc -l <"$VPN_LOG")
check_not "gateway down: the other name fails (no fallback)" pod_query udp "$OTHER_NAME" 5
check_not "gateway down: ... over TCP too" pod_query tcp "$OTHER_NAME" "$OTHER_NAME"
check "gateway down: the cluster name still resolves" wait_for gw-down-cluster 60 answers "$CLUSTER_NAME" 10.43.7.7
assert_eq "gateway down: zero DNS packets via eth0" 0 "$(counter "$NODE_NS" dns_via_eth0)"
assert_eq "gateway down: zero DNS packets from the node but to the cluster DNS" 0 "$(counter "$NODE_NS" dns_node_other)"
assert_eq "gateway down: nothing reached the VPN resolver" "$vpn_before" "$(wc -l <"$VPN_LOG")"
assert_eq "gateway down: the cluster DNS never saw the other name" "" "$(grep -F " $OTHER_NAME" "$CLUSTER_LOG")"
check "gateway down: the failures are counted" wait_for failed-count 30 metric_at_least 'splitnet_dns_queries_total{result="failed"}' 1
ip -n "$GW_NS" link set gw0 up
check "gateway back: the other name resolves again" wait_for gw-up 60 answers "$OTHER_NAME" 203.0.113.80

# --- fail closed: agent down -------------------------------------------------------------------
stop_agent
reset_counters
vpn_before=$(wc -l <"$VPN_LOG")
cluster_before=$(wc -l <"$CLUSTER_LOG")
check_not "agent down: the cluster name fails" pod_query udp "$CLUSTER_NAME" 2
check_not "agent down: the other name fails" pod_query udp "$OTHER_NAME" 2
check_not "agent down: TCP fails too" pod_query tcp "$CLUSTER_NAME" "$OTHER_NAME"
assert_eq "agent down: zero DNS packets via eth0" 0 "$(counter "$NODE_NS" dns_via_eth0)"
assert_eq "agent down: zero DNS packets from the node" 0 "$(counter "$NODE_NS" dns_node_other)"
assert_eq "agent down: nothing reached the VPN resolver" "$vpn_before" "$(wc -l <"$VPN_LOG")"
assert_eq "agent down: nothing reached the cluster DNS" "$cluster_before" "$(wc -l <"$CLUSTER_LOG")"

# --- agent back: both work again, without a new ADD --------------------------------------------
start_agent
check "agent back: the cluster name resolves again" \
    wait_for cluster-again 60 answers "$CLUSTER_NAME" 10.43.7.7
check "agent back: the other name resolves again" wait_for other-again 60 answers "$OTHER_NAME" 203.0.113.80

# --- a pod ADDed while the agent runs is served without waiting for a round -------------------
POD1=("$POD_NS" "$POD_NETNS" "$SN_CONTAINERID")
POD_NS=$(e2e_name pod2)
POD_NETNS=/var/run/netns/${POD_NS}
SN_CONTAINERID=$(e2e_name cid2)
e2e_netns_add "$POD_NS"
CONF2=$(conf_vpn_pod "$EGRESS" 192.168.99.98/24 | with_cluster_dns)
run_splitnet ADD "$CONF2"
assert_rc "second pod: ADD while the agent runs" 0 || sn_dump
cp "$SN_OUT" "${E2E_TMP}/add2.json"
check "second pod: the other name resolves (served on the state change, no probe round)" \
    wait_for pod2-other 60 answers "$OTHER_NAME" 203.0.113.80
check "second pod: the cluster name resolves" wait_for pod2-cluster 60 answers "$CLUSTER_NAME" 10.43.7.7
run_splitnet DEL "$(with_prev "$CONF2" "${E2E_TMP}/add2.json")"
assert_rc "second pod: DEL" 0
POD_NS=${POD1[0]}
POD_NETNS=${POD1[1]}
SN_CONTAINERID=${POD1[2]}

# --- DEL: the address goes, and the agent lets go of the pod -----------------------------------
run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "DEL" 0
assert_eq "DEL: the cluster DNS Service IP is off the pod's lo" "" \
    "$(ip -n "$POD_NS" -4 addr show dev lo | grep -F "$CLUSTER_DNS")"
agent_let_go() { grep -q "stopped serving ${POD_NETNS}" "$AGENT_LOG"; }
check "DEL: the agent closes the pod's sockets" wait_for let-go 60 agent_let_go
assert_eq "DEL: nothing listens on :53 in the pod any more" "" "$(pod_port53)"
stop_agent

e2e_summary
