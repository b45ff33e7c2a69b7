#!/usr/bin/env bash
# splitnet demo: one pod, two networks, in private network namespaces.
#
#   node netns   where the container runtime would run splitnet (CNI_NETNS = the pod)
#   pod netns    the "pod": eth0 from the primary stand-in (Debian ptp + host-local, the
#                role Cilium plays in a cluster), net1 a macvlan on the VPN network
#                (10.10.20.5/24, gateway 10.10.20.1), created natively by splitnet
#   gw netns     stand-in for the VPN gateway: the far end of the veth that serves as
#                net1's macvlan master ("vpn0" in the node), with 10.10.20.1/24
#
# It runs ADD, prints the merged result, the pod's `ip addr` and `ip route`, checks that the
# pod reaches the gateway over net1, runs DEL and removes everything (also on failure or ^C).
# Nothing touches the machine's own network namespace; no packet leaves the namespaces.
#
# Needs root, iproute2, python3 and Debian's containernetworking-plugins (/usr/lib/cni).
# Builds nothing: uses $SPLITNET_BINARY, else build/splitnet.
#   sudo demo/demo.sh            DEMO_PAUSE=1 sudo -E demo/demo.sh   (pause before cleanup)
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPLITNET_BINARY=${SPLITNET_BINARY:-${SOURCE_DIR}/build/splitnet}
CNI_PLUGINS=${CNI_PLUGINS:-/usr/lib/cni}

die() { echo "demo: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (it creates network namespaces); try: sudo $0"
[[ -x $SPLITNET_BINARY ]] || die "no splitnet binary at $SPLITNET_BINARY: build it first (see README) or set SPLITNET_BINARY"
for plugin in ptp host-local; do
    [[ -x ${CNI_PLUGINS}/${plugin} ]] || die "missing ${CNI_PLUGINS}/${plugin}: apt-get install containernetworking-plugins"
done
command -v python3 >/dev/null || die "python3 is needed to pretty-print JSON"

PREFIX="splitnet-demo-$$"
NODE=${PREFIX}-node
POD=${PREFIX}-pod
GW=${PREFIX}-gw
POD_NETNS=/var/run/netns/${POD}
CONTAINER_ID=${PREFIX}-container
WORK=$(mktemp -d /tmp/splitnet-demo.XXXXXX)
CREATED_NETNS=()
GW_SERVER_PID=

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    [[ -n $GW_SERVER_PID ]] && kill "$GW_SERVER_PID" 2>/dev/null && wait "$GW_SERVER_PID" 2>/dev/null
    # --- VPN egress cleanup (added with the egress part) -------------------------------------
    local ns pid
    for ns in "${CREATED_NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns delete "$ns" 2>/dev/null
    done
    rm -rf -- "$WORK"
    if ((status == 0)); then
        step "Cleaned up: namespaces ${PREFIX}-* and ${WORK} removed."
    else
        echo "demo failed (exit status ${status}); namespaces and temp files were removed." >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
netns_add() {
    ip netns add "$1"
    CREATED_NETNS+=("$1")
    ip -n "$1" link set lo up
}

# splitnet VERB: the call a container runtime makes, inside the node netns.
splitnet() {
    ip netns exec "$NODE" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        CNI_COMMAND="$1" CNI_CONTAINERID="$CONTAINER_ID" CNI_NETNS="$POD_NETNS" CNI_IFNAME=eth0 \
        CNI_PATH="$CNI_PLUGINS" "$SPLITNET_BINARY" <"${WORK}/meta.conf" >"${WORK}/$1.out" 2>"${WORK}/$1.err"
}

run_verb() {
    if ! splitnet "$1"; then
        echo "splitnet $1 failed:" >&2
        cat "${WORK}/$1.out" >&2
        echo >&2
        tail -n 20 "${WORK}/$1.err" >&2
        exit 1
    fi
}

step "Namespaces: node ${NODE}, pod ${POD}, VPN gateway ${GW}"
netns_add "$NODE"
netns_add "$POD"
netns_add "$GW"
# net1's macvlan master: a veth whose far end is the gateway (no dummy/vlan needed).
ip -n "$NODE" link add vpn0 type veth peer name vpn0-gw
ip -n "$NODE" link set vpn0-gw netns "$GW"
ip -n "$NODE" link set vpn0 up
ip -n "$GW" addr add 10.10.20.1/24 dev vpn0-gw
ip -n "$GW" link set vpn0-gw up

# --- VPN egress setup: gateway NAT, internet netns, kill switch (added with the egress part) ---

step "Meta config (what the runtime passes to splitnet on stdin)"
cat >"${WORK}/meta.conf" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "pod-net",
  "type": "splitnet",
  "cniDir": "${WORK}/state",
  "binDir": "${CNI_PLUGINS}",
  "logLevel": "info",
  "delegates": [
    {
      "cniVersion": "1.0.0",
      "name": "cluster",
      "type": "ptp",
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "subnet": "10.42.0.0/24",
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "${WORK}/ipam"
      }
    },
    {
      "cniVersion": "1.0.0",
      "name": "unifi-vpn",
      "type": "macvlan",
      "master": "vpn0",
      "mode": "bridge",
      "ipam": {
        "type": "static",
        "addresses": [{"address": "10.10.20.5/24", "gateway": "10.10.20.1"}]
      }
    }
  ]
}
EOF
cat "${WORK}/meta.conf"

step "ADD (CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_NETNS=${POD_NETNS})"
run_verb ADD
echo "splitnet's merged result:"
python3 -m json.tool "${WORK}/ADD.out"

step "Inside the pod: ip addr"
ip -n "$POD" addr show
step "Inside the pod: ip route"
ip -n "$POD" route show

step "The pod reaches the VPN gateway 10.10.20.1 over net1"
ip netns exec "$GW" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.10.20.1", 8080)); s.listen(1); s.settimeout(15)
c, addr = s.accept(); c.sendall(f"hello {addr[0]}, this is the VPN gateway\n".encode()); c.close()' &
GW_SERVER_PID=$!
ip netns exec "$POD" python3 -c '
import socket, sys, time
deadline = time.time() + 10
while True:  # the gateway listener starts in parallel: retry for a bounded time
    try:
        with socket.create_connection(("10.10.20.1", 8080), timeout=2) as c:
            print("pod received:", c.recv(200).decode().strip()); break
    except OSError as e:
        if time.time() > deadline: sys.exit(f"no answer from 10.10.20.1: {e}")
        time.sleep(0.1)'
wait "$GW_SERVER_PID" 2>/dev/null || true
GW_SERVER_PID=

# --- VPN egress demonstration: default route via net1, kill switch (added with the egress part)

step "DEL"
run_verb DEL
echo "DEL exit status 0; the pod now has:"
ip -n "$POD" -brief link show

if [[ ${DEMO_PAUSE:-0} == 1 ]]; then
    read -r -p "Press Enter to clean up... " _
fi
