#!/usr/bin/env bash
# The node agent's API duties in `splitnet install`'s watch loop, against
# the TLS API stand-in (tests/testutil/fake_apiserver.py) with the in-cluster service account:
# - --remove-taint removes exactly its taint from the node (a JSON patch that tests each taint
#   it removes), leaving the other taints;
# - the bypassed-pod guard lists this node's pods (fieldSelector, paged), deletes only the
#   Running pod that asks for networks and has no network-status (DeleteOptions with its uid),
#   records a SplitnetBypassed Event on it first, and leaves the others alone: one splitnet set
#   up, one still starting, one on another node, one without networks;
# - a failed API call is logged and retried on the next tick;
# - nothing happens before the node config is in place, and the guard does not run while the
#   node config names no kubeconfig (splitnet then writes no network-status);
# - --guard-bypassed-pods=false lists and deletes nothing; no NODE_NAME: no API call at all.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/apiserver_lib.sh"
e2e_init

API_NS=$(e2e_name api)
e2e_netns_add "$API_NS"
DATA=${E2E_TMP}/data
NODE=${E2E_TMP}/node
NETD=${NODE}/etc/cni/net.d
SA=${E2E_TMP}/serviceaccount
mkdir -p "$DATA/nodes" "$NETD" "$SA"
printf '%s\n' '{"cniVersion":"1.0.0","name":"cilium","plugins":[{"type":"cilium-cni"}]}' \
    >"$NETD/05-cilium.conflist"

# put_pod NS NAME NODE PHASE CONTAINER_STATE NETWORKS [NETWORK_STATUS]
put_pod() {
    mkdir -p "$DATA/pods/$1"
    python3 - "$DATA/pods/$1/$2.json" "$@" <<'PY'
import json, sys
path, ns, name, node, phase, state, networks = sys.argv[1:8]
status = sys.argv[8] if len(sys.argv) > 8 else ""
annotations = {}
if networks:
    annotations["k8s.v1.cni.cncf.io/networks"] = networks
if status:
    annotations["k8s.v1.cni.cncf.io/network-status"] = status
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": name, "namespace": ns, "uid": "uid-" + name, "resourceVersion": "1",
                    "annotations": annotations},
       "spec": {"nodeName": node, "containers": [{"name": "app", "image": "x"}]},
       "status": {"phase": phase,
                  "containerStatuses": [{"name": "app", "state": {state: {}}}]}}
json.dump(pod, open(path, "w"))
PY
}
STATUS_OK='[{"name":"cilium","interface":"eth0","default":true},{"name":"media/vpn","interface":"net1"}]'
# 120 plain pods first (two pages of 100), so the bypassed one is on the second page.
for i in $(seq -w 1 120); do put_pod aaa "plain-$i" node-a Running running ""; done
put_pod media handled node-a Running running vpn "$STATUS_OK"
put_pod media starting node-a Pending waiting vpn
put_pod media elsewhere node-b Running running vpn
put_pod zz bypassed node-a Running running vpn
cat >"$DATA/nodes/node-a.json" <<'JSON'
{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "resourceVersion": "7"},
 "spec": {"taints": [{"key": "splitnet.io/agent-not-ready", "effect": "NoSchedule"},
                     {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}}
JSON

token="e2e-token-$RANDOM$RANDOM"
e2e_on_exit stop_fake_apiserver
CONTROL=${E2E_TMP}/control.json
start_fake_apiserver "$API_NS" "$E2E_TMP" "$DATA" "$token" --certs-dir "$E2E_TMP/certs" \
    --control "$CONTROL" || exit 1
PORT=$(json_value "$E2E_TMP/ready" /port)
cp "$(json_value "$E2E_TMP/ready" /ca)" "$SA/ca.crt"
printf '%s' "$token" >"$SA/token"
REQUESTS=${E2E_TMP}/requests.log

AGENT_PID=
# start_agent LOG [ENV...] -- [FLAG...]: `splitnet install` (watch loop) in the API netns with
# the in-cluster env pointing at the stand-in.
start_agent() {
    local log=$1 envs=()
    shift
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    ip netns exec "$API_NS" env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
        "${envs[@]}" "$SPLITNET_BINARY" install --cni-bin-dir="$NODE/opt/cni/bin" \
        --cni-conf-dir="$NETD" --multus-autoconfig-dir="$NETD" \
        --multus-cni-conf-dir="$NODE/etc/cni/multus/net.d" --service-account-dir="$SA" \
        --skip-multus-binary-copy --watch-interval-ms=50 "$@" >/dev/null 2>"$log" &
    AGENT_PID=$!
}
stop_agent() {
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID"
    assert_eq "the agent exits 0 on SIGTERM" 0 "$?"
}
# shellcheck disable=SC2016  # expanded when the cleanup runs
e2e_on_exit '[[ -n $AGENT_PID ]] && kill $AGENT_PID 2>/dev/null'

# count METHOD PATH_PREFIX: how many logged requests have that method and path prefix.
count() { pred request-count "$REQUESTS" "$1" "$2"; }
# shellcheck disable=SC2317  # called through wait_for
pod_gone() { [[ ! -e $DATA/pods/$1/$2.json ]]; }
# shellcheck disable=SC2317
taint_keys() { pred taint-keys "$DATA/nodes/node-a.json"; }
# shellcheck disable=SC2317
taint_removed() { [[ $(taint_keys) == node.kubernetes.io/not-ready ]]; }

# --- no NODE_NAME: the duties are off, said once, no API call --------------------------------
start_agent "$E2E_TMP/agent0.log" -- --remove-taint=splitnet.io/agent-not-ready
check "without NODE_NAME the agent says the guard and the taint are off" \
    wait_for "warning" 30 grep -q "NODE_NAME is not set" "$E2E_TMP/agent0.log"
check "... once the config is written" wait_for "config" 30 test -e "$NETD/00-splitnet.conflist"
stop_agent
touch "$REQUESTS"
assert_eq "... and made no API call" "0" "$(grep -c '"method"' "$REQUESTS")"

# --- no node config yet (no master config to wrap): neither duty runs ------------------------
mkdir -p "$E2E_TMP/empty"
start_agent "$E2E_TMP/agent-early.log" NODE_NAME=node-a -- \
    --remove-taint=splitnet.io/agent-not-ready --multus-autoconfig-dir="$E2E_TMP/empty"
check "without a master config the agent waits for one" \
    wait_for "waiting" 30 grep -q "no master CNI config" "$E2E_TMP/agent-early.log"
# The first tick follows the first sync at once, and SIGTERM is only taken between ticks: once
# the agent has exited, that tick has run.
stop_agent
assert_eq "... and, the config not being in place, made no API call" "0" \
    "$(grep -c '"method"' "$REQUESTS")"
assert_eq "the taint is still there" \
    "splitnet.io/agent-not-ready node.kubernetes.io/not-ready" "$(taint_keys)"

# --- guard on, but the node config names no kubeconfig (a hand-written one, copied): splitnet
# writes no network-status then, every pod asking for a network would look bypassed, so the
# guard does not run ------------------------------------------------------------------------------
printf '%s\n' '{"cniVersion":"1.0.0","name":"splitnet","type":"splitnet",
  "delegates":[{"cniVersion":"1.0.0","name":"cilium","type":"cilium-cni"}]}' >"$E2E_TMP/handwritten.conf"
start_agent "$E2E_TMP/agent-nokc.log" NODE_NAME=node-a -- --multus-conf-file="$E2E_TMP/handwritten.conf"
check "without a kubeconfig in the node config the agent says the guard is off" \
    wait_for "warning" 30 grep -q "names no kubeconfig" "$E2E_TMP/agent-nokc.log"
# The warning comes from the first tick, which would have run the guard: once the agent has
# exited, that tick is over.
stop_agent
rm -f "$NETD/handwritten.conf"
assert_eq "... said once" 1 "$(grep -c "names no kubeconfig" "$E2E_TMP/agent-nokc.log")"
assert_eq "... and it listed no pod" 0 "$(count GET /api/v1/pods)"
assert_eq "... and deleted none" 0 "$(count DELETE /api/v1/)"
check "the bypassed pod is still there" test -e "$DATA/pods/zz/bypassed.json"

# --- guard off, taint on; the first read of the node fails ------------------------------------
printf '%s' '{"faults": [{"status": 422, "count": 1, "match": "/api/v1/nodes/node-a"}]}' >"$CONTROL"
start_agent "$E2E_TMP/agent1.log" NODE_NAME=node-a -- \
    --remove-taint=splitnet.io/agent-not-ready --guard-bypassed-pods=false
check "the taint is removed" wait_for "taint" 30 taint_removed
stop_agent
assert_eq "... on the next tick after a failed read: two GETs of the node" 2 \
    "$(count GET /api/v1/nodes/node-a)"
assert_eq "the failure was logged once" 1 "$(grep -c "cannot read node node-a" "$E2E_TMP/agent1.log")"
assert_eq "... and one PATCH" 1 "$(count PATCH /api/v1/nodes/node-a)"
assert_pred "the PATCH tests the taint it removes, and removes only it" \
    request-value "$REQUESTS" PATCH /api/v1/nodes/node-a /body '[{"op": "test", "path": "/spec/taints/0",
     "value": {"key": "splitnet.io/agent-not-ready", "effect": "NoSchedule"}}, {"op": "remove", "path": "/spec/taints/0"}]'
assert_eq "the other taint stays" "node.kubernetes.io/not-ready" "$(taint_keys)"
assert_eq "--guard-bypassed-pods=false: no pod list" 0 "$(count GET /api/v1/pods)"
assert_eq "... and no delete" 0 "$(count DELETE /api/v1/)"
check "the bypassed pod is still there" test -e "$DATA/pods/zz/bypassed.json"

# --- guard on (the default); the taint is gone already ----------------------------------------
: >"$REQUESTS"
start_agent "$E2E_TMP/agent2.log" NODE_NAME=node-a -- --remove-taint=splitnet.io/agent-not-ready
check "the bypassed pod is deleted" wait_for "delete" 30 pod_gone zz bypassed
stop_agent
assert_eq "exactly one DELETE" 1 "$(count DELETE /api/v1/)"
assert_pred "... of zz/bypassed ..." \
    request-value "$REQUESTS" DELETE /api/v1/ /path '"/api/v1/namespaces/zz/pods/bypassed"'
assert_pred "... with DeleteOptions ..." request-value "$REQUESTS" DELETE /api/v1/ /body/kind '"DeleteOptions"'
assert_pred "... and its uid as precondition" \
    request-value "$REQUESTS" DELETE /api/v1/ /body/preconditions '{"uid": "uid-bypassed"}'
assert_pred "the pods were listed by node, page by page (limit 100, then the continue token)" \
    request-paths-start "$REQUESTS" GET /api/v1/pods \
    "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&limit=100" \
    "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&limit=100&continue=100"
for kept in media/handled media/starting media/elsewhere aaa/plain-001; do
    check "$kept is left alone" test -e "$DATA/pods/${kept}.json"
done
assert_eq "the node is not patched again (no taint left)" 0 "$(count PATCH /api/v1/nodes/)"
assert_pred "an Event was posted before the delete ..." request-before "$REQUESTS" POST /events DELETE
EVENT=(request-value "$REQUESTS" POST /api/v1/namespaces/zz/events)  # + POINTER JSON
assert_pred "... to the pod's namespace, accepted ..." "${EVENT[@]}" /status 201
assert_pred "... a SplitnetBypassed ..." "${EVENT[@]}" /body/reason '"SplitnetBypassed"'
assert_pred "... Warning ..." "${EVENT[@]}" /body/type '"Warning"'
assert_pred "... on the pod ..." "${EVENT[@]}" /body/involvedObject/name '"bypassed"'
assert_pred "... (its uid) ..." "${EVENT[@]}" /body/involvedObject/uid '"uid-bypassed"'
assert_pred "... saying it ran without splitnet" \
    request-text-contains "$REQUESTS" POST /api/v1/namespaces/zz/events /body/message "without splitnet"
assert_contains "the agent logged the deletion" "$(cat "$E2E_TMP/agent2.log")" \
    "deleted pod zz/bypassed (uid uid-bypassed)"

e2e_summary
