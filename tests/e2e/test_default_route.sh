#!/usr/bin/env bash
# e2e (issue 4 item 7, multus.md §4.7): the `default-route` selection key through the built
# binary. Primary: Debian ptp + host-local with a default route (eth0). Secondary: NAD media/vpn
# (empty spec.config, so its config is vpn.conf from confDir) = macvlan on a veth master with
# static 192.0.2.10/24 and a default route of its own via 192.0.2.254 (net1). The pod
# annotations come from runtimeConfig "io.kubernetes.cri.pod-annotations" (no pod GET); the
# NAD GET goes to the TLS fixture API server.
#
# Asserts: the pod's only IPv4 default route is via 192.0.2.1 dev net1 (eth0's and net1's own
# are gone: the intended Multus behaviour, not the v4.2.2+ "nothing deleted" bug), the merged
# result and CHECK agree; two IPv4 gateways are rejected with code 7 before anything is created;
# `default-route: []` leaves no default route; an unreachable gateway fails the ADD and the
# rollback leaves nothing behind.
#
# Everything runs in two uniquely named namespaces created here ("node": plugin, API server,
# macvlan master; "pod"), deleted on EXIT.
set -uo pipefail

# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "$0")/apiserver_lib.sh"
require_root_and_plugins ptp host-local macvlan static
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi

suffix="$$-$RANDOM"
node="splitnet-defroute-node-$suffix"
pods=()
work=$(mktemp -d /tmp/splitnet-e2e-defroute-XXXXXX)
cleanup() {
    local status=$? ns
    trap - EXIT
    stop_fake_apiserver
    for ns in "${pods[@]}" "$node"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

passed=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; passed=$((passed + 1)); }

in_node() { ip netns exec "$node" "$@"; }

ip netns add "$node" || fail "cannot create netns $node"
in_node ip link set lo up
in_node ip link add vpn-master type veth peer name vpn-peer
in_node ip link set vpn-master up
in_node ip link set vpn-peer up

# --- API objects and configs -----------------------------------------------------------------
mkdir -p "$work/data/pods/media" "$work/data/nads/media" "$work/confdir" "$work/state"
for nad in vpn vpn2; do
    cat > "$work/data/nads/media/$nad.json" <<JSON
{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",
 "metadata":{"name":"$nad","namespace":"media"},"spec":{"config":""}}
JSON
done
# The pod object (only for the network-status PUT) has no networks annotation: the networks can
# only come from the runtime's annotations.
cat > "$work/data/pods/media/web.json" <<'JSON'
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"media","uid":"uid-web",
 "resourceVersion":"1","annotations":{}},"spec":{"containers":[{"name":"web","image":"web"}]}}
JSON
cat > "$work/confdir/vpn.conf" <<'JSON'
{"cniVersion":"0.3.1","name":"vpn","type":"macvlan","master":"vpn-master","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"192.0.2.10/24"}],
         "routes":[{"dst":"0.0.0.0/0","gw":"192.0.2.254"}]}}
JSON
cat > "$work/confdir/vpn2.conf" <<'JSON'
{"cniVersion":"0.3.1","name":"vpn2","type":"macvlan","master":"vpn-master","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"198.51.100.10/24"}]}}
JSON

token="e2e-token-$suffix"
start_fake_apiserver "$node" "$work" "$work/data" "$token" || fail "no API server (see above)"
write_kubeconfig "$work" "$token"

# conf ANNOTATION [PREV_RESULT_FILE]: the meta config with the networks annotation passed by the
# runtime (and a prevResult for CHECK).
conf() {
    "$PY" - "$work" "$1" "${2:-}" <<'PY'
import json, sys
work, annotation, prev = sys.argv[1], sys.argv[2], sys.argv[3]
conf = {
    "cniVersion": "1.0.0", "name": "multus-cni-network", "type": "multus",
    "kubeconfig": work + "/kubeconfig", "cniDir": work + "/state", "confDir": work + "/confdir",
    "binDir": "/usr/lib/cni", "apiTimeout": 5,
    "runtimeConfig": {"io.kubernetes.cri.pod-annotations":
                      {"k8s.v1.cni.cncf.io/networks": annotation}},
    "delegates": [{"cniVersion": "1.0.0", "name": "cluster", "type": "ptp", "ipMasq": False,
                   "ipam": {"type": "host-local", "subnet": "10.88.0.0/24",
                            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": work + "/ipam"}}],
}
if prev:
    conf["prevResult"] = json.load(open(prev))
print(json.dumps(conf))
PY
}

# cni VERB POD CONF_JSON > out: one plugin call from the node netns.
cni() {
    local verb=$1 pod=$2 config=$3
    in_node env -i PATH="$PATH" CNI_COMMAND="$verb" CNI_CONTAINERID="ctr-$pod" \
        CNI_NETNS="/var/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
        CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=ctr-$pod;K8S_POD_UID=uid-web" \
        timeout 120 "$SPLITNET_BINARY" <<< "$config"
}

# new_pod N: a fresh pod netns, its name in $pod (no subshell: the cleanup list must see it).
new_pod() {
    pod="splitnet-defroute-pod$1-$suffix"
    ip netns add "$pod" || fail "cannot create netns $pod"
    pods+=("$pod")
    ip -n "$pod" link set lo up
}

in_pod() { local pod=$1; shift; ip netns exec "$pod" "$@"; }

# Nothing of an attachment may be left: only lo in the pod, no ptp veth on the node, no IP
# reservation, no state file.
assert_nothing_left() {
    local pod=$1 what=$2 links
    links=$(in_pod "$pod" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
    [[ $links == "lo " ]] || fail "$what: pod still has links: $links"
    in_node ip -o link show type veth | grep -v -e vpn-master -e vpn-peer \
        && fail "$what: a ptp veth is left in the node netns"
    [[ -z $(find "$work/ipam" -type f -name '10.88.*' 2>/dev/null) ]] \
        || fail "$what: host-local still holds an IP: $(ls "$work/ipam"/*)"
    [[ ! -e $work/state/ctr-$pod.json ]] || fail "$what: state file left behind"
}

# del_leaves_nothing N POD ANNOTATION: the DEL of case N succeeds and removes everything.
del_leaves_nothing() {
    local n=$1 pod=$2 annotation=$3
    cni DEL "$pod" "$(conf "$annotation")" > "$work/del$n.json" 2>&1 \
        || fail "DEL failed: $(cat "$work/del$n.json")"
    assert_nothing_left "$pod" "after DEL"
}

# --- 1. default-route ["192.0.2.1"] on net1 -----------------------------------------------------
new_pod 1
pod1=$pod
annotation='[{"name":"vpn","default-route":["192.0.2.1"]}]'
cni ADD "$pod1" "$(conf "$annotation")" > "$work/add1.json" 2> "$work/add1.err" \
    || fail "ADD failed: $(cat "$work/add1.json" "$work/add1.err")"
if ! in_pod "$pod1" ip link show dev net1 > /dev/null 2>&1 \
    && ! grep -q network-attachment-definitions "$work/requests.log" 2>/dev/null; then
    echo "SKIP: this binary does not read pod annotations (no Kubernetes network source wired)"
    cni DEL "$pod1" "$(conf "$annotation")" > /dev/null 2>&1
    exit 77
fi
defaults=$(in_pod "$pod1" ip -4 route show default)
[[ $(wc -l <<< "$defaults") -eq 1 && $defaults == "default via 192.0.2.1 dev net1 "* ]] \
    || fail "expected exactly one IPv4 default route via 192.0.2.1 dev net1, got: $defaults"
[[ -z $(in_pod "$pod1" ip -4 route show default dev eth0) ]] || fail "eth0 kept a default route"
[[ -z $(in_pod "$pod1" ip -6 route show default) ]] || fail "an IPv6 default route is left"
in_pod "$pod1" ip -4 addr show dev net1 | grep -q "192.0.2.10/24" || fail "net1 lacks 192.0.2.10"
ok "kernel: the only IPv4 default route is via 192.0.2.1 dev net1"

"$PY" - "$work/add1.json" <<'PY' || fail "merged result does not reflect the default route"
import json, sys
r = json.load(open(sys.argv[1]))
defaults = [x for x in r.get("routes", []) if x["dst"] in ("0.0.0.0/0", "::/0", "::0/0")]
assert defaults == [{"dst": "0.0.0.0/0", "gw": "192.0.2.1"}], defaults
names = [i["name"] for i in r["interfaces"]]
assert "eth0" in names and "net1" in names, names
net1 = names.index("net1")
assert any(ip["address"] == "192.0.2.10/24" and ip["interface"] == net1 for ip in r["ips"]), r["ips"]
PY
"$PY" - "$work/state/ctr-$pod1.json" <<'PY' || fail "stored results do not reflect the default route"
import json, sys
state = json.load(open(sys.argv[1]))
def defaults(result):
    return [x for x in result.get("routes") or [] if x["dst"].endswith("/0")]
by_if = {a["ifname"]: a["result"] for a in state["attachments"]}
assert defaults(by_if["eth0"]) == [], by_if["eth0"]
assert defaults(by_if["net1"]) == [{"dst": "0.0.0.0/0", "gw": "192.0.2.1"}], by_if["net1"]
PY
ok "merged and stored results: one default route, via 192.0.2.1"

"$PY" - "$work/data/pods/media/web.json" <<'PY' || fail "network-status gateway fields are wrong"
import json, sys
pod = json.load(open(sys.argv[1]))
status = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])
by_if = {s["interface"]: s for s in status}
assert by_if["net1"].get("gateway") == ["192.0.2.1"], by_if["net1"]
assert "gateway" not in by_if["eth0"], by_if["eth0"]
PY
ok "network-status: gateway 192.0.2.1 on net1 only"

cni CHECK "$pod1" "$(conf "$annotation" "$work/add1.json")" > "$work/check1.json" 2>&1 \
    || fail "CHECK failed: $(cat "$work/check1.json")"
ok "CHECK passes against the rewritten results"

del_leaves_nothing 1 "$pod1" "$annotation"
ok "DEL removes everything"

# --- 2. two IPv4 gateways: ECMP, rejected before any work ----------------------------------------
new_pod 2
pod2=$pod
annotation='[{"name":"vpn","default-route":["192.0.2.1"]},{"name":"vpn2","default-route":["198.51.100.1"]}]'
if cni ADD "$pod2" "$(conf "$annotation")" > "$work/add2.json" 2> "$work/add2.err"; then
    fail "ADD with two IPv4 gateways succeeded: $(cat "$work/add2.json")"
fi
"$PY" - "$work/add2.json" <<'PY' || fail "wrong ECMP error: $(cat "$work/add2.json")"
import json, sys
e = json.load(open(sys.argv[1]))
assert e["code"] == 7, e
assert "multus does not support ECMP for default-route" in e["msg"], e
PY
assert_nothing_left "$pod2" "after the ECMP rejection"
ok "two IPv4 gateways: code 7, nothing created"

# --- 3. default-route [] removes every default route ---------------------------------------------
new_pod 3
pod3=$pod
annotation='[{"name":"vpn","default-route":[]}]'
cni ADD "$pod3" "$(conf "$annotation")" > "$work/add3.json" 2> "$work/add3.err" \
    || fail "ADD with default-route [] failed: $(cat "$work/add3.json" "$work/add3.err")"
in_pod "$pod3" ip link show dev net1 > /dev/null || fail "net1 missing"
[[ -z $(in_pod "$pod3" ip -4 route show default) ]] \
    || fail "default-route [] left: $(in_pod "$pod3" ip -4 route show default)"
[[ -z $(in_pod "$pod3" ip -6 route show default) ]] || fail "an IPv6 default route is left"
"$PY" - "$work/add3.json" <<'PY' || fail "merged result still lists a default route"
import json, sys
r = json.load(open(sys.argv[1]))
assert not [x for x in r.get("routes", []) if x["dst"].endswith("/0")], r["routes"]
PY
del_leaves_nothing 3 "$pod3" "$annotation"
ok "default-route []: no default route at all"

# --- 4. an unreachable gateway fails the ADD, the rollback removes everything ----------------------
new_pod 4
pod4=$pod
annotation='[{"name":"vpn","default-route":["203.0.113.1"]}]'
if cni ADD "$pod4" "$(conf "$annotation")" > "$work/add4.json" 2> "$work/add4.err"; then
    fail "ADD with an unreachable gateway succeeded: $(cat "$work/add4.json")"
fi
grep -q "203.0.113.1 dev net1" "$work/add4.json" || fail "error does not name the route: $(cat "$work/add4.json")"
assert_nothing_left "$pod4" "after the failed ADD"
ok "unreachable gateway: ADD fails closed, nothing left"

echo "PASS ($passed checks)"
