#!/usr/bin/env bash
# e2e: Kubernetes Events from the plugin, through the built binary against the
# TLS fixture API server (tests/testutil/fake_apiserver.py, which validates Events as the API
# server's core/v1 validation does and stores them under <data>/events/<ns>/):
#   1. a successful ADD posts one AddedInterface Event per attachment, in Multus' message
#      format, over the one TLS connection of the invocation;
#   2. a failed ADD posts exactly one Warning naming the network (FailedAddInterface; Multus'
#      NoNetworkFound for a NAD that does not exist), also for error text that is invalid UTF-8
#      or longer than an Event message may be;
#   3. the Events endpoint answering 403 or 500, or hanging: ADD still succeeds with the same
#      result, bounded, with one log line;
#   4. no Events without the API (no kubeconfig), for a pod the API does not know, on DEL or
#      CHECK; runtime-passed annotations with API access still get them.
# The plugin and the API server run in a private "node" netns; every pod is a fresh netns. All
# namespaces are deleted on exit (lib.sh).
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/apiserver_lib.sh"
e2e_init
e2e_require_plugins ptp host-local macvlan static
e2e_setup_node_pod

DATA=$E2E_TMP/data
CONTROL=$E2E_TMP/control.json
LOG=$E2E_TMP/requests.log
mkdir -p "$DATA/pods/media" "$DATA/nads/media"
echo '{}' >"$CONTROL"

# put_pod NAME ANNOTATIONS_JSON: a pod in namespace media (uid uid-NAME) on node node-e2e-7.
put_pod() {
    python3 - "$DATA/pods/media/$1.json" "$1" "$2" <<'PY'
import json, sys
path, name, annotations = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
json.dump({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "media", "uid": "uid-" + name,
                        "resourceVersion": "1", "annotations": annotations},
           "spec": {"nodeName": "node-e2e-7",
                    "containers": [{"name": name, "image": "busybox"}]}}, open(path, "w"))
PY
}

# put_nad NAME CONFIG_JSON: a NetworkAttachmentDefinition in namespace media.
put_nad() {
    python3 - "$DATA/nads/media/$1.json" "$1" "$2" <<'PY'
import json, sys
path, name, config = sys.argv[1:4]
json.dump({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": name, "namespace": "media"}, "spec": {"config": config}},
          open(path, "w"))
PY
}

macvlan_nad() {  # NAME ADDRESS [MASTER]
    printf '{"cniVersion":"1.0.0","name":"%s","type":"macvlan","master":"%s","mode":"bridge","ipam":{"type":"static","addresses":[{"address":"%s"}]}}' \
        "$1" "${3:-$MASTER}" "$2"
}
put_nad net-a "$(macvlan_nad net-a 10.10.20.5/24)"
put_nad net-b "$(macvlan_nad net-b 10.10.30.5/24)"
put_nad net-bad "$(macvlan_nad net-bad 10.10.40.5/24 nosuchmaster0)"
put_nad net-garbage '{"cniVersion":"1.0.0","name":"net-garbage","type":"e2e-utf8","utf8Mode":"garbage"}'
put_nad net-long '{"cniVersion":"1.0.0","name":"net-long","type":"e2e-utf8","utf8Mode":"long"}'

token="e2e-token-$RANDOM$RANDOM"
e2e_on_exit stop_fake_apiserver
start_fake_apiserver "$NODE_NS" "$E2E_TMP" "$DATA" "$token" --certs-dir "$E2E_TMP/certs" \
    --control "$CONTROL" || exit 1
write_kubeconfig "$E2E_TMP" "$token"

# events_conf [API_TIMEOUT] [WITH_KUBECONFIG=1]: the meta config; primary ptp + host-local
# 10.42.0.0/24 ("cluster"); binDir holds the fake plugins, CNI_PATH Debian's.
events_conf() {
    local kubeconfig=",\"kubeconfig\":\"$E2E_TMP/kubeconfig\""
    [[ ${2:-1} == 1 ]] || kubeconfig=
    cat <<EOF
{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus"$kubeconfig,
 "cniDir":"$E2E_STATE","binDir":"$E2E_PLUGINS","apiTimeout":${1:-20},"logLevel":"info",
 "delegates":[{"cniVersion":"1.0.0","name":"cluster","type":"ptp","ipMasq":false,
   "ipam":{"type":"host-local","subnet":"10.42.0.0/24","dataDir":"$E2E_IPAM"}}]}
EOF
}

# ev_run VERB POD CONF: run the binary as the runtime would for pod media/POD, first marking
# where this run's entries in the API server's log begin.
ev_run() {
    LOG_MARK=0
    [[ -f $LOG ]] && LOG_MARK=$(wc -l <"$LOG")
    SN_CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$SN_CONTAINERID;K8S_POD_UID=uid-$2"
    run_splitnet "$1" "$3"
}

new_case() {
    e2e_new_pod
    SN_CONTAINERID=$(e2e_name "cid$RANDOM")
    echo '{}' >"$CONTROL"
}

# log_since_mark: the API server's log entries of the last run, as a JSON list in a file.
log_since_mark() {
    python3 - "$LOG" "$LOG_MARK" "$E2E_TMP/run-log.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
json.dump([json.loads(l) for l in lines if l.strip()], open(sys.argv[3], "w"))
PY
    printf '%s' "$E2E_TMP/run-log.json"
}

# stored_events POD: the Events the server stored about media/POD, oldest name first.
stored_events() {
    python3 - "$DATA/events/media" "$1" "$E2E_TMP/events.json" <<'PY'
import json, os, sys
folder, pod, out = sys.argv[1:4]
events = []
if os.path.isdir(folder):
    for name in sorted(os.listdir(folder)):
        event = json.load(open(os.path.join(folder, name)))
        if event["involvedObject"]["name"] == pod:
            events.append(event)
events.sort(key=lambda e: e["eventTime"])
json.dump(events, open(out, "w"))
PY
    printf '%s' "$E2E_TMP/events.json"
}

event_posts() { json_eval "$(log_since_mark)" 'len([e for e in r if e.get("method") == "POST" and e["path"].endswith("/events")])'; }
handshakes() { json_eval "$(log_since_mark)" 'len([e for e in r if e.get("event") == "handshake"])'; }
event_log_lines() { grep -c 'Events about pod' "$SN_ERR"; }

CONF=$(events_conf)

# --- 1. successful ADD: one AddedInterface per attachment, one TLS connection ------------------
new_case
put_pod two '{"k8s.v1.cni.cncf.io/networks":"net-a, net-b"}'
ev_run ADD two "$CONF"
assert_rc "1 ADD with two networks" 0
cp "$SN_OUT" "$E2E_TMP/add-ok.json"
assert_eq "1 one TLS connection for the whole ADD, Events included" 1 "$(handshakes)"
assert_json "1 requests in order: pod, NADs, network-status, then the three Events" \
    '[(e["method"], e["path"].split("/")[-1]) for e in r if "method" in e] == [("GET","two"),("GET","net-a"),("GET","net-b"),("GET","two"),("PUT","status"),("POST","events"),("POST","events"),("POST","events")]' \
    "$(log_since_mark)"
assert_json "1 every Event was created (201) by the validating server" \
    'all(e["status"] == 201 for e in r if e.get("method") == "POST")' "$(log_since_mark)"
ev=$(stored_events two)
eth0_ip=$(json_eval "$E2E_TMP/add-ok.json" '[ip["address"] for ip in r["ips"] if ip["address"].startswith("10.42.")][0]')
assert_json "1 messages in Multus' format, in plan order" \
    "[e['message'] for e in r] == ['Add eth0 [$eth0_ip] from cluster', 'Add net1 [10.10.20.5/24] from media/net-a', 'Add net2 [10.10.30.5/24] from media/net-b']" "$ev"
assert_json "1 reason AddedInterface, type Normal, action ADD" \
    'all(e["reason"] == "AddedInterface" and e["type"] == "Normal" and e["action"] == "ADD" for e in r)' "$ev"
assert_json "1 involvedObject is the pod (kind, namespace, name, uid)" \
    'all(e["involvedObject"] == {"apiVersion":"v1","kind":"Pod","namespace":"media","name":"two","uid":"uid-two"} for e in r)' "$ev"
assert_json "1 reported by splitnet on the pod's node (spec.nodeName)" \
    'all(e["reportingComponent"] == "splitnet" and e["reportingInstance"] == "node-e2e-7" and e["source"] == {"component":"splitnet","host":"node-e2e-7"} for e in r)' "$ev"
assert_json "1 names are <pod>.<hex nanoseconds>, all different" \
    'len({e["metadata"]["name"] for e in r}) == 3 and all(e["metadata"]["name"].startswith("two.") and int(e["metadata"]["name"][4:], 16) > 0 for e in r)' "$ev"
assert_json "1 count 1 and the timestamps set" \
    'all(e["count"] == 1 and e["firstTimestamp"] == e["lastTimestamp"] and e["eventTime"].startswith(e["firstTimestamp"][:19]) for e in r)' "$ev"

# --- 4a. no Events on CHECK and DEL ---------------------------------------------------------
ev_run CHECK two "$(with_prev "$CONF" "$E2E_TMP/add-ok.json")"
assert_rc "4a CHECK" 0
assert_eq "4a CHECK posts no Event" 0 "$(event_posts)"
ev_run DEL two "$(with_prev "$CONF" "$E2E_TMP/add-ok.json")"
assert_rc "4a DEL" 0
assert_eq "4a DEL posts no Event (Multus emits none)" 0 "$(event_posts)"

# --- 2a. failed ADD: exactly one Warning naming the network ----------------------------------
new_case
put_pod bad '{"k8s.v1.cni.cncf.io/networks":"net-a, net-bad"}'
ev_run ADD bad "$CONF"
assert_failed "2a ADD with a NAD whose macvlan master does not exist"
cp "$SN_OUT" "$E2E_TMP/add-bad.json"
assert_eq "2a exactly one Event posted" 1 "$(event_posts)"
assert_eq "2a still one TLS connection" 1 "$(handshakes)"
ev=$(stored_events bad)
assert_json "2a it is a Warning FailedAddInterface about the pod" \
    'len(r) == 1 and r[0]["type"] == "Warning" and r[0]["reason"] == "FailedAddInterface" and r[0]["involvedObject"]["uid"] == "uid-bad"' "$ev"
msg=$(json_eval "$E2E_TMP/add-bad.json" 'r["msg"]')
assert_json "2a its message names the network and carries the runtime's error" \
    "'media/net-bad' in r[0]['message'] and r[0]['message'].startswith($(python3 -c 'import json,sys;print(json.dumps(sys.argv[1]))' "$msg"))" "$ev"
assert_json "2a no AddedInterface for net-a, which was rolled back" \
    'all(e["reason"] != "AddedInterface" for e in r)' "$ev"
assert_eq "2a nothing left in the pod (only lo)" lo "$(pod_links | tr '\n' ' ' | sed 's/ $//')"

# --- 2b. a missing NAD: one Warning NoNetworkFound in Multus' words ---------------------------
new_case
put_pod missing '{"k8s.v1.cni.cncf.io/networks":"net-a, net-gone"}'
ev_run ADD missing "$CONF"
assert_failed "2b ADD with a NAD that does not exist"
assert_eq "2b exactly one Event posted" 1 "$(event_posts)"
assert_json "2b a Warning NoNetworkFound naming net-gone, as Multus words it" \
    'len(r) == 1 and r[0]["type"] == "Warning" and r[0]["reason"] == "NoNetworkFound" and r[0]["message"] == "cannot find a network-attachment-definition (net-gone) in namespace (media): network-attachment-definitions.k8s.cni.cncf.io \"net-gone\" not found"' "$(stored_events missing)"

# --- 2c. error text that is invalid UTF-8, and error text far too long for an Event -----------
new_case
put_pod garbage '{"k8s.v1.cni.cncf.io/networks":"net-garbage"}'
ev_run ADD garbage "$CONF"
assert_failed "2c ADD failing with invalid UTF-8 in the plugin's output"
assert_json "2c the Warning was accepted, with U+FFFD for the bad bytes" \
    'len(r) == 1 and r[0]["type"] == "Warning" and "\ufffd" in r[0]["message"] and "media/net-garbage" in r[0]["message"]' "$(stored_events garbage)"
new_case
put_pod long '{"k8s.v1.cni.cncf.io/networks":"net-long"}'
ev_run ADD long "$CONF"
assert_failed "2c ADD failing with 15000 bytes of output"
assert_json "2c the Warning was accepted, clipped to the API's 1024 bytes" \
    'len(r) == 1 and len(r[0]["message"].encode()) <= 1024 and "bytes)" in r[0]["message"] and "media/net-long" in r[0]["message"]' "$(stored_events long)"

# --- 3. the Events endpoint fails or hangs: ADD succeeds, bounded, one log line ----------------
# same_result FILE: FILE and case 1's result agree on interfaces and IPs outside eth0's lease.
# shellcheck disable=SC2317  # called through check
same_result() {
    python3 - "$E2E_TMP/add-ok.json" "$1" <<'PY'
import json, sys
def shape(path):
    r = json.load(open(path))
    return ([i["name"] for i in r["interfaces"] if i.get("sandbox")], r["cniVersion"],
            [ip["address"] for ip in r["ips"] if not ip["address"].startswith("10.42.")], r.get("routes"))
sys.exit(0 if shape(sys.argv[1]) == shape(sys.argv[2]) else 1)
PY
}
for status in 403 500; do
    new_case
    put_pod "refused$status" '{"k8s.v1.cni.cncf.io/networks":"net-a, net-b"}'
    printf '{"faults":[{"status":%s,"count":1000,"match":"/events"}]}' "$status" >"$CONTROL"
    ev_run ADD "refused$status" "$CONF"
    assert_rc "3 Events answered $status: ADD still succeeds" 0
    check "3 ($status) the result is the same as with Events" same_result "$SN_OUT"
    assert_eq "3 ($status) one log line about the Events" 1 "$(event_log_lines)"
    assert_eq "3 ($status) one TLS connection" 1 "$(handshakes)"
    assert_eq "3 ($status) no Event stored" "[]" "$(cat "$(stored_events "refused$status")")"
    if [[ $status == 403 ]]; then
        assert_json "3 (403) refused at once: one POST, the other Events not tried" \
            '[e["status"] for e in r if e.get("method") == "POST"] == [403]' "$(log_since_mark)"
    else
        assert_json "3 (500) retried, then given up: the other Events not tried" \
            'len([e for e in r if e.get("method") == "POST"]) >= 2 and all(e["status"] == 500 and e["path"] == "/api/v1/namespaces/media/events" for e in r if e.get("method") == "POST")' "$(log_since_mark)"
    fi
    ev_run DEL "refused$status" "$CONF"
    assert_rc "3 ($status) DEL" 0
done

# A hang: the API server holds the Event request for 90 s; apiTimeout (60 s) would allow it,
# the Events' own bound does not. ADD must come back while the server still holds the request.
new_case
put_pod hang '{"k8s.v1.cni.cncf.io/networks":"net-a"}'
echo '{"faults":[{"status":201,"count":1,"match":"/events","hang_ms":90000}]}' >"$CONTROL"
ev_run ADD hang "$(events_conf 60)"
assert_rc "3 Events endpoint hangs: ADD still succeeds" 0
assert_json "3 (hang) ADD returned while the server still held the Event request" \
    'not any(e.get("method") == "POST" for e in r)' "$(log_since_mark)"
assert_eq "3 (hang) one log line about the Events" 1 "$(event_log_lines)"
assert_contains "3 (hang) it says the Events were not posted" "$(grep 'Events about pod' "$SN_ERR")" "0 of 2 posted"
assert_eq "3 (hang) one TLS connection: the other Event was not tried on a new one" 1 "$(handshakes)"
ev_run DEL hang "$CONF"
assert_rc "3 (hang) DEL" 0

# --- 4b. no Events without the API; none for a pod the API does not know ----------------------
new_case
put_pod noapi '{}'
ev_run ADD noapi "$(events_conf 20 0)"
assert_rc "4b ADD without kubeconfig" 0
assert_eq "4b no request at all reached the API server" 0 "$(json_eval "$(log_since_mark)" 'len(r)')"
ev_run DEL noapi "$(events_conf 20 0)"
assert_rc "4b DEL" 0

new_case
ev_run ADD ghost "$CONF"
assert_rc "4b ADD of a pod the API does not know (cluster network only)" 0
assert_eq "4b no Event about a pod that does not exist" 0 "$(event_posts)"
ev_run DEL ghost "$CONF"

# --- 4c. runtime-passed annotations (CRI-O) with API access: Events still posted --------------
new_case
crio_conf=$(python3 -c '
import json, sys
conf = json.loads(sys.argv[1])
conf["runtimeConfig"] = {"io.kubernetes.cri.pod-annotations": {"k8s.v1.cni.cncf.io/networks": "net-a"}}
print(json.dumps(conf))' "$CONF")
put_pod crio '{}'
ev_run ADD crio "$crio_conf"
assert_rc "4c ADD with runtime-passed annotations" 0
assert_json "4c annotations from the runtime (no pod GET before the NAD), Events posted" \
    '[(e["method"], e["path"].split("/")[-1]) for e in r if "method" in e] == [("GET","net-a"),("GET","crio"),("PUT","status"),("POST","events"),("POST","events")]' "$(log_since_mark)"
assert_json "4c eth0 and net1 announced, UID from CNI_ARGS" \
    '[e["message"].split(" ")[1] for e in r] == ["eth0", "net1"] and all(e["involvedObject"]["uid"] == "uid-crio" for e in r)' "$(stored_events crio)"
ev_run DEL crio "$crio_conf"
assert_rc "4c DEL" 0

e2e_summary
