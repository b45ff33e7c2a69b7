#!/usr/bin/env bash
# splitnet demo: one pod, two networks, VPN egress with a kill switch, in private namespaces.
#
#   pod ── eth0 (Debian ptp + host-local: the primary, Cilium's role) ── node: service 10.43.0.1
#    │
#    └─ net1 (splitnet's native macvlan on the node's vpn0, 192.168.99.99/24, the user's VPN
#       network) ── gw: VPN gateway 192.168.99.1, NAT ── inet: 203.0.113.10
#
# The story: ADD gives the pod eth0 and net1 with an "egress" block. The pod reaches the internet
# only through the gateway (which source-NATs it), the service via eth0, and no IPv6 internet at
# all. When the gateway goes down, internet traffic fails and not one packet to the internet
# leaves via eth0, while the service stays reachable. CHECK, DEL, and nothing is left.
# Every claim is one line, ✔ or ✘, decided by nft packet counters and replies; the exit status
# is non-zero if any claim fails.
#
# The topology is the one tests/e2e/test_egress_vpn.sh uses (tests/e2e/egress_lib.sh). All of it
# lives in uniquely named namespaces (splitnet-demo-<pid>-<random>-*) that are deleted on exit,
# also on failure or ^C. Nothing touches the machine's own namespace; no packet leaves them.
#
# Needs root, iproute2, nftables, python3 and Debian's containernetworking-plugins.
# Builds nothing: uses $SPLITNET_BINARY, else build/splitnet.
#   sudo demo/demo.sh            DEMO_PAUSE=1 sudo -E demo/demo.sh   (pause before DEL)
# shellcheck source-path=SCRIPTDIR/.. disable=SC2119  # lib.sh helpers take optional arguments
set -uo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SPLITNET_SOURCE_DIR=$SOURCE_DIR
export SPLITNET_BINARY=${SPLITNET_BINARY:-${SOURCE_DIR}/build/splitnet}
export E2E_CNI_PLUGINS=${CNI_PLUGINS:-/usr/lib/cni}

die() {
    echo "demo: $*" >&2
    exit 1
}
[[ $(id -u) -eq 0 ]] || die "needs root (it creates network namespaces); try: sudo $0"
[[ -x $SPLITNET_BINARY ]] || die "no splitnet binary at $SPLITNET_BINARY: build it first (see README) or set SPLITNET_BINARY"
for plugin in ptp host-local; do
    [[ -x ${E2E_CNI_PLUGINS}/${plugin} ]] || die "missing ${E2E_CNI_PLUGINS}/${plugin}: apt-get install containernetworking-plugins"
done
for tool in ip nft python3; do
    command -v "$tool" >/dev/null || die "missing $tool: apt-get install iproute2 nftables python3"
done

# shellcheck source=tests/e2e/lib.sh
source "${SOURCE_DIR}/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/egress_lib.sh
source "${SOURCE_DIR}/tests/e2e/egress_lib.sh"
E2E_NAME_PREFIX=${DEMO_NAME_PREFIX:-splitnet-demo-$$-${RANDOM}}

# --- presentation: lib.sh's assertions (check, assert_eq, ...) print through pass/fail --------
if [[ -t 1 ]]; then
    BOLD=$'\033[1m' GREEN=$'\033[32m' RED=$'\033[31m' PLAIN=$'\033[0m'
else
    BOLD='' GREEN='' RED='' PLAIN=''
fi
pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    printf '  %s✔%s %s\n' "$GREEN" "$PLAIN" "$*"
}
fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    printf '  %s✘ %s%s\n' "$RED" "$*" "$PLAIN"
}
section() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
show() {
    printf '  $ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/    /'
}

demo_exit() {
    local status=$?
    trap - EXIT INT TERM
    e2e_teardown
    ((status != 0)) && echo "demo failed (exit status ${status}); its namespaces and temp files were removed." >&2
    exit "$status"
}
e2e_init
trap demo_exit EXIT
STARTED=$SECONDS
VPN_IP=192.168.99.99
VPN_MAC=02:4b:7c:d2:a1:f3

# serve_whoami NS ADDR NAME: a TCP server on ADDR:8080 in NS answering "NAME sees you as <peer>";
# returns once it listens. Teardown kills it with its namespace.
serve_whoami() {
    local log=${E2E_TMP}/whoami-$3.log
    ns_exec "$1" python3 - "$2" "$3" >"$log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(8)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    c.sendall(f"{sys.argv[2]} sees you as {peer[0]}\n".encode())
    c.close()
PY
    disown
    wait_for "whoami $3" 5 grep -qx ready "$log" || die "the $3 test server did not start: $(cat "$log")"
}

# whoami ADDR [SECONDS]: from the pod, the server's answer (or "no answer (reason)"); fails
# without an answer within SECONDS (default 5: an answer comes at once, the bound only matters on
# a loaded machine).
whoami() {
    ns_exec "$POD_NS" python3 - "$1" "${2:-5}" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], 8080), timeout=float(sys.argv[2])) as c:
        print(c.recv(200).decode().strip())
except OSError as e:
    print(f"no answer ({e.strerror or e})")
    sys.exit(1)
PY
}

# claim_reply DESC ADDR EXPECTED: a TCP exchange from the pod, the reply shown in the claim.
claim_reply() {
    local reply
    reply=$(whoami "$2")
    assert_eq "$1 -> \"${reply}\"" "$3" "$reply"
}

# claim_no_reply DESC ADDR: no TCP answer from ADDR within 1 s (the reason is shown).
claim_no_reply() {
    local reply
    if reply=$(whoami "$2" 1); then
        fail "$1: got \"${reply}\""
    else
        pass "$1 -> ${reply}"
    fi
}

# pretty_json FILE: indented JSON where objects and arrays that fit on a line stay on one line.
pretty_json() {
    python3 - "$1" <<'PY'
import json, sys
def fmt(v, indent):
    flat = json.dumps(v)
    if not isinstance(v, (dict, list)) or len(flat) + indent <= 92:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, dict):
        items = [f"{pad}{json.dumps(k)}: {fmt(x, indent + 2)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + fmt(x, indent + 2) for x in v) + "\n" + " " * indent + "]"
with open(sys.argv[1]) as f:
    print("\n".join("    " + line for line in fmt(json.load(f), 0).split("\n")))
PY
}

# counter_text NS COUNTER: "node counter leak4: 0" (the namespace by its role).
counter_text() { printf '%s counter %s: %s' "${1##*-}" "$2" "$(counter "$1" "$2")"; }

# claim_zero DESC NS COUNTER: the counter is 0 (its value is shown either way).
claim_zero() {
    local text
    text=$(counter_text "$2" "$3")
    assert_eq "$1 (${text})" 0 "${text##* }"
}

# claim_some DESC NS COUNTER: the counter is at least 1.
claim_some() {
    local text
    text=$(counter_text "$2" "$3")
    check "$1 (${text})" test "${text##* }" -ge 1
}

# ------------------------------------------------------------------------------------------------
section "1. Topology: namespaces ${E2E_NAME_PREFIX}-{node,pod,gw,inet}"
egress_topology
serve_whoami "$INET_NS" "$INET4" internet
serve_whoami "$NODE_NS" "$SERVICE" service
cat <<EOF
  node  the node (splitnet runs here); service ${SERVICE} on lo; vpn0 = macvlan master
  pod   empty: the pod's network namespace (CNI_NETNS)
  gw    VPN gateway: gw0 192.168.99.1/24 on vpn0's segment, forwards with nft masquerade
  inet  "internet": ${INET4} and ${INET6}, reached only through gw
EOF

CONF=$(conf_egress_meta "$(conf_ptp_primary)" \
    "$(conf_vpn_egress "${VPN_IP}/24" \
        '{"gateway":"192.168.99.1","keep":["cluster"],"ipv6":"block","probeGateway":"require"}' \
        "\"mac\":\"${VPN_MAC}\"")")
printf '%s' "$CONF" >"${E2E_TMP}/meta.conf"

section "2. ADD: eth0 (ptp + host-local) and net1 (VPN network with an egress block)"
echo "  meta config on stdin (in Kubernetes, net1's address and MAC come from the pod annotation):"
pretty_json "${E2E_TMP}/meta.conf"
run_splitnet ADD "@${E2E_TMP}/meta.conf"
assert_rc "ADD (probeGateway require: the gateway answered ARP)" 0 || exit 1
cp "$SN_OUT" "${E2E_TMP}/add.json"
echo "  merged result:"
pretty_json "${E2E_TMP}/add.json"
assert_pred "the result lists eth0 and net1" sandbox-interfaces "${E2E_TMP}/add.json" eth0 net1
assert_pred "... net1's IP indexed to net1" ip-owners "${E2E_TMP}/add.json" "${VPN_IP}/" net1
POD_IP=$(pred first-ip-starting "${E2E_TMP}/add.json" "10.42.")
POD_IP=${POD_IP%/*}
show ip -n "$POD_NS" addr
show ip -n "$POD_NS" route
show ip -n "$POD_NS" -6 route
assert_pred "net1 has ${VPN_IP}/24" link-inet "$(pod_addr_json)" net1 "${VPN_IP}/24"
assert_pred "... and MAC ${VPN_MAC}" link-mac "$(pod_addr_json)" net1 "$VPN_MAC"

section "3. Traffic: internet via the VPN gateway, the service via eth0, no IPv6 internet"
reset_counters
check "ping ${INET4} (internet) is answered" pod_ping "$INET4"
claim_some "... the echo request arrived at the gateway from net1" "$GW_NS" "gw_${INET4//./_}"
claim_some "... the internet saw it from the gateway's 198.51.100.1" "$INET_NS" natted
claim_zero "... and never the pod's ${VPN_IP}" "$INET_NS" raw
claim_zero "... zero packets to internet addresses left via eth0" "$NODE_NS" leak4
claim_reply "TCP ${INET4}:8080" "$INET4" "internet sees you as 198.51.100.1"
reset_counters
check "ping ${SERVICE} (service) is answered" pod_ping "$SERVICE"
claim_some "... it went via eth0" "$NODE_NS" "node_${SERVICE//./_}"
claim_zero "... and not to the gateway" "$GW_NS" "gw_${SERVICE//./_}"
claim_reply "TCP ${SERVICE}:8080" "$SERVICE" "service sees you as ${POD_IP}"
check "the node offers IPv6 (the primary's result has a ::/0 route)" \
    pred has-route "${E2E_TMP}/add.json" ::/0
# IPv6 routed to eth0 reaches the node's counter only once DAD is over on both of its ends.
wait_for_dad "$POD_NS" "$NODE_NS" || fail "eth0's IPv6 addresses are still tentative"
reset_counters
check_not "ping ${INET6} (IPv6 internet) fails" pod_ping "$INET6" 1
assert_eq "... the pod has no route for it" "RTNETLINK answers: No route to host" \
    "$(ip -n "$POD_NS" -6 route get "$INET6" 2>&1)"
claim_zero "... zero IPv6 packets to the internet via eth0" "$NODE_NS" leak6
claim_zero "... nor via the gateway" "$GW_NS" gw_inet6

section "4. Kill switch: the VPN gateway goes down (gw0 link down)"
ip -n "$GW_NS" link set gw0 down
reset_counters
check_not "ping ${INET4} fails" pod_ping "$INET4" 1
claim_no_reply "TCP ${INET4}:8080 fails" "$INET4"
assert_contains "the route to the internet still points at the gateway, no fallback" \
    "$(ip -n "$POD_NS" route get "$INET4")" "via 192.168.99.1 dev net1"
claim_zero "zero packets to internet addresses left via eth0" "$NODE_NS" leak4
check "the service ${SERVICE} is still reached via eth0" pod_ping "$SERVICE"
ip -n "$GW_NS" link set gw0 up
check "gateway back up: the internet answers again (no pod restart)" \
    wait_for "internet again" 30 pod_ping "$INET4"

if [[ ${DEMO_PAUSE:-0} == 1 ]]; then
    echo "  pod: ip netns exec ${POD_NS} bash"
    read -r -p "  Press Enter for CHECK and DEL... " _
fi

section "5. CHECK, DEL, and nothing is left"
run_splitnet CHECK "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "CHECK: the whole policy is in place" 0
run_splitnet DEL "$(with_prev "$CONF" "${E2E_TMP}/add.json")"
assert_rc "DEL" 0
assert_eq "the pod has only lo" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
check "no egress route (proto 83) left in the pod" no_egress_routes
check "no ptp veth left on the node" node_has_no_pod_veth
assert_eq "no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
assert_eq "no splitnet state left" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
TMP_DIR=$E2E_TMP
e2e_teardown
assert_eq "no ${E2E_NAME_PREFIX}-* namespace left" "" "$(ip netns list | grep -F "$E2E_NAME_PREFIX")"
check "temp dir ${TMP_DIR} removed" test ! -e "$TMP_DIR"

section "Summary"
if ((E2E_FAILED > 0)); then
    printf '  %s%d claim(s) failed%s, %d held (%d s)\n' "$RED" "$E2E_FAILED" "$PLAIN" "$E2E_PASSED" $((SECONDS - STARTED))
    exit 1
fi
printf '  all %d claims held (%d s)\n' "$E2E_PASSED" $((SECONDS - STARTED))
