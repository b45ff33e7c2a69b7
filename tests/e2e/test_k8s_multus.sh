#!/usr/bin/env bash
# e2e: the built binary as a Multus drop-in against the TLS fixture API server.
# The user-doc network (NAD unifi-vpn in namespace media, macvlan + static), annotation in the
# JSON form with ips + mac -> net1; network-status and Events written with 1 TLS handshake and
# 1 pod GET + 1 NAD GET + GET/PUT status + 2 Event POSTs; then DEL with the API server down.
# Everything runs inside two namespaces created here: "node" (plugin, API server, macvlan master)
# and "pod"; both are deleted on EXIT.
set -euo pipefail

# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "$0")/apiserver_lib.sh"
require_root_and_plugins bridge host-local macvlan static

suffix="$$-$RANDOM"
node="splitnet-k8s-node-$suffix"
pod="splitnet-k8s-pod-$suffix"
work=$(mktemp -d /tmp/splitnet-e2e-k8s-XXXXXX)
cleanup() {
    set +e
    stop_fake_apiserver
    ip netns del "$pod" 2>/dev/null || true
    ip netns del "$node" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
PREDICATES="$(dirname "$0")/predicates.py"
# must NAME FILE ARG...: predicate NAME of predicates.py holds (it says what it found if not).
must() { python3 "$PREDICATES" "$@" || fail "$1 over $2"; }

ip netns add "$node"
ip netns add "$pod"
in_node() { ip netns exec "$node" "$@"; }
in_node ip link set lo up
in_node ip link add vpn-master type veth peer name vpn-peer
in_node ip link set vpn-master up
in_node ip link set vpn-peer up

# --- API objects --------------------------------------------------------------------------
mkdir -p "$work/data/pods/media" "$work/data/nads/media"
cat > "$work/data/pods/media/sonarr.json" <<'JSON'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sonarr","namespace":"media","uid":"uid-sonarr",
 "resourceVersion":"10","annotations":{"k8s.v1.cni.cncf.io/networks":
 "[{\"name\":\"unifi-vpn\",\"ips\":[\"198.51.100.20/24\"],\"mac\":\"c2:b0:57:49:47:f1\"}]"}},
 "spec":{"containers":[{"name":"sonarr","image":"sonarr"}]}}
JSON
python3 - "$work/data/nads/media/unifi-vpn.json" <<'PY'
import json, sys
# No "name" (injected from the NAD name) and no addresses: the annotation's ips reach static
# IPAM through CNI_ARGS IP= / runtimeConfig (Debian's static appends CNI_ARGS IPs to addresses).
config = {"cniVersion": "0.3.1", "type": "macvlan", "master": "vpn-master", "mode": "bridge",
          "ipam": {"type": "static"}}
json.dump({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": "unifi-vpn", "namespace": "media"},
           "spec": {"config": json.dumps(config, indent=2)}}, open(sys.argv[1], "w"))
PY

token="e2e-token-$suffix"
start_fake_apiserver "$node" "$work" "$work/data" "$token" --certs-dir "$work/certs" \
    || fail "no API server (see above)"
write_kubeconfig "$work" "$token"

cat > "$work/conf.json" <<EOF2
{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus",
 "kubeconfig":"$work/kubeconfig","cniDir":"$work/state","confDir":"$work/confdir",
 "binDir":"/usr/lib/cni","apiTimeout":3,
 "delegates":[{"cniVersion":"0.3.1","name":"cbr0","type":"bridge","bridge":"sn-br0",
   "isGateway":true,"ipam":{"type":"host-local","subnet":"10.77.0.0/24","dataDir":"$work/ipam"}}]}
EOF2

cni() {  # cni VERB
    in_node env CNI_COMMAND="$1" CNI_CONTAINERID="ctr-$suffix" CNI_NETNS="/var/run/netns/$pod" \
        CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
        CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=sonarr;K8S_POD_INFRA_CONTAINER_ID=ctr-$suffix;K8S_POD_UID=uid-sonarr" \
        "$SPLITNET_BINARY" < "$work/conf.json"
}

# --- ADD ----------------------------------------------------------------------------------
cni ADD > "$work/add.json" || fail "ADD failed: $(cat "$work/add.json")"
# Captured first: grep -q on a pipe would SIGPIPE the producer under pipefail.
net1_addr=$(ip netns exec "$pod" ip -o addr show dev net1)
net1_link=$(ip netns exec "$pod" ip -o link show dev net1)
eth0_addr=$(ip netns exec "$pod" ip -o addr show dev eth0)
[[ $net1_addr == *"inet 198.51.100.20/24"* ]] || fail "net1 lacks the annotation IP: $net1_addr"
[[ ${net1_link,,} == *"c2:b0:57:49:47:f1"* ]] || fail "net1 lacks the annotation MAC: $net1_link"
[[ $eth0_addr == *"inet 10.77.0."* ]] || fail "eth0 has no primary IP: $eth0_addr"

# The API: network-status (indented, as Multus writes it), the requests, one TLS connection.
pod_object=$work/data/pods/media/sonarr.json
must status-networks "$pod_object" cbr0@eth0 media/unifi-vpn@net1
must status-default "$pod_object" cbr0@eth0
must status-entry "$pod_object" 1 \
    '{"name": "media/unifi-vpn", "interface": "net1", "ips": ["198.51.100.20"], "mac": "c2:b0:57:49:47:f1", "dns": {}}'
must text-contains "$pod_object" /metadata/annotations/k8s.v1.cni.cncf.io~1network-status $'\n    "name": "cbr0"'
python3 "$PREDICATES" json-lines "$work/requests.log" >"$work/requests.json"
must requests-are "$work/requests.json" GET:/api/v1/namespaces/media/pods/sonarr \
    GET:/apis/k8s.cni.cncf.io/v1/namespaces/media/network-attachment-definitions/unifi-vpn \
    GET:/api/v1/namespaces/media/pods/sonarr PUT:/api/v1/namespaces/media/pods/sonarr/status \
    POST:/api/v1/namespaces/media/events POST:/api/v1/namespaces/media/events
handshakes=$(python3 "$PREDICATES" count-where "$work/requests.json" event handshake)
[[ $handshakes == 1 ]] || fail "expected one TLS handshake, found $handshakes"
# The AddedInterface Events, as Multus words them (docs/observability.md#events).
must event-posts "$work/requests.json" "Add eth0 [*" "Add net1 [198.51.100.20/24] from media/unifi-vpn"
must post-statuses "$work/requests.json" 201 201

# --- DEL with the API server down ----------------------------------------------------------
# DEL must not need the API. Asserted with a packet counter, not with wall time (a loaded machine
# is slow, and a refused connection fails fast anyway): every connection attempt to the API port
# from the node netns is a SYN through this counter, and a refused attempt first proves it counts.
api_port=$(python3 "$PREDICATES" value "$work/ready" /port)
stop_fake_apiserver
in_node nft -f - <<EOF2
table inet e2e_api {
  counter syn { }
  chain out { type filter hook output priority 0; policy accept; tcp dport $api_port tcp flags syn counter name syn; }
}
EOF2
api_syns() { in_node nft list counter inet e2e_api syn | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
in_node python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit("the API port still accepts connections")' "$api_port" || fail "the API server is not down"
[[ $(api_syns) == 1 ]] || fail "the SYN counter missed a connection attempt (counted $(api_syns))"
in_node nft reset counter inet e2e_api syn >/dev/null
start=$(date +%s%N)
cni DEL > "$work/del.json" || fail "DEL with the API down failed: $(cat "$work/del.json")"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if ip netns exec "$pod" ip link show dev net1 >/dev/null 2>&1; then fail "net1 still exists after DEL"; fi
[[ $(api_syns) == 0 ]] || fail "DEL tried to reach the API server ($(api_syns) connection attempts)"
echo "PASS (DEL with API down: no connection attempt to the API; took ${elapsed_ms} ms)"
