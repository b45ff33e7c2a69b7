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
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/apiserver_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/apiserver_lib.sh"
k8s_e2e_setup

CONTROL=$E2E_TMP/control.json
LOG=$E2E_TMP/requests.log
mkdir -p "$DATA/pods/media" "$DATA/nads/media"
echo '{}' >"$CONTROL"

put_pod() { put_pod_object "$DATA" media "$1" "$2" node-e2e-7; }  # NAME ANNOTATIONS_JSON
put_nad() { put_nad_object "$DATA" media "$@"; }  # NAME CONFIG_JSON

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
    e2e_new_pod_and_container
    echo '{}' >"$CONTROL"
}

# log_since_mark: the API server's log entries of the last run, as a JSON list in a file.
log_since_mark() {
    tail -n +$((LOG_MARK + 1)) "$LOG" >"$E2E_TMP/run-log.jsonl"
    pred json-lines "$E2E_TMP/run-log.jsonl" >"$E2E_TMP/run-log.json"
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

event_posts() { pred posts-to "$(log_since_mark)" /events; }
handshakes() { pred count-where "$(log_since_mark)" event handshake; }
event_log_lines() { grep -c 'Events about pod' "$SN_ERR"; }

CONF=$(events_conf)

# --- 1. successful ADD: one AddedInterface per attachment, one TLS connection ------------------
new_case
put_pod two '{"k8s.v1.cni.cncf.io/networks":"net-a, net-b"}'
ev_run ADD two "$CONF"
assert_rc "1 ADD with two networks" 0
cp "$SN_OUT" "$E2E_TMP/add-ok.json"
assert_eq "1 one TLS connection for the whole ADD, Events included" 1 "$(handshakes)"
assert_pred "1 requests in order: pod, NADs, network-status, then the three Events" \
    request-sequence "$(log_since_mark)" GET:two GET:net-a GET:net-b GET:two PUT:status POST:events POST:events POST:events
assert_pred "1 every Event was created (201) by the validating server" post-statuses "$(log_since_mark)" 201 201 201
ev=$(stored_events two)
eth0_ip=$(pred first-ip-starting "$E2E_TMP/add-ok.json" 10.42.)
assert_pred "1 messages in Multus' format, in plan order" each-value "$ev" /message \
    "Add eth0 [$eth0_ip] from cluster" "Add net1 [10.10.20.5/24] from media/net-a" "Add net2 [10.10.30.5/24] from media/net-b"
assert_pred "1 reason AddedInterface ..." all-have "$ev" /reason '"AddedInterface"'
assert_pred "... type Normal ..." all-have "$ev" /type '"Normal"'
assert_pred "... action ADD" all-have "$ev" /action '"ADD"'
assert_pred "1 involvedObject is the pod (kind, namespace, name, uid)" all-have "$ev" /involvedObject \
    '{"apiVersion":"v1","kind":"Pod","namespace":"media","name":"two","uid":"uid-two"}'
assert_pred "1 reported by splitnet ..." all-have "$ev" /reportingComponent '"splitnet"'
assert_pred "... on the pod's node (spec.nodeName)" all-have "$ev" /reportingInstance '"node-e2e-7"'
assert_pred "... also in source" all-have "$ev" /source '{"component":"splitnet","host":"node-e2e-7"}'
assert_pred "1 names are <pod>.<hex nanoseconds>, all different" event-names "$ev" two 3
assert_pred "1 count 1 and the timestamps set" event-times-once "$ev"

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
assert_pred "2a it is a Warning FailedAddInterface ..." only-event "$ev" Warning FailedAddInterface
assert_pred "... about the pod" value-is "$ev" /0/involvedObject/uid '"uid-bad"'
msg=$(json_value "$E2E_TMP/add-bad.json" /msg)
assert_pred "2a its message names the network ..." text-contains "$ev" /0/message media/net-bad
assert_pred "... and carries the runtime's error" text-starts-with "$ev" /0/message "$msg"
assert_pred "2a no AddedInterface for net-a, which was rolled back" none-have "$ev" /reason '"AddedInterface"'
assert_eq "2a nothing left in the pod (only lo)" lo "$(pod_links | tr '\n' ' ' | sed 's/ $//')"

# --- 2b. a missing NAD: one Warning NoNetworkFound in Multus' words ---------------------------
new_case
put_pod missing '{"k8s.v1.cni.cncf.io/networks":"net-a, net-gone"}'
ev_run ADD missing "$CONF"
assert_failed "2b ADD with a NAD that does not exist"
assert_eq "2b exactly one Event posted" 1 "$(event_posts)"
ev=$(stored_events missing)
assert_pred "2b a Warning NoNetworkFound ..." only-event "$ev" Warning NoNetworkFound
assert_pred "... naming net-gone, as Multus words it" value-is "$ev" /0/message \
    '"cannot find a network-attachment-definition (net-gone) in namespace (media): network-attachment-definitions.k8s.cni.cncf.io \"net-gone\" not found"'

# --- 2c. error text that is invalid UTF-8, and error text far too long for an Event -----------
new_case
put_pod garbage '{"k8s.v1.cni.cncf.io/networks":"net-garbage"}'
ev_run ADD garbage "$CONF"
assert_failed "2c ADD failing with invalid UTF-8 in the plugin's output"
ev=$(stored_events garbage)
assert_pred "2c the Warning was accepted ..." only-event "$ev" Warning
assert_pred "... with U+FFFD for the bad bytes ..." text-contains "$ev" /0/message "$U_FFFD"
assert_pred "... naming the network" text-contains "$ev" /0/message media/net-garbage
new_case
put_pod long '{"k8s.v1.cni.cncf.io/networks":"net-long"}'
ev_run ADD long "$CONF"
assert_failed "2c ADD failing with 15000 bytes of output"
ev=$(stored_events long)
assert_pred "2c the Warning was accepted ..." length-is "$ev" "" 1
assert_pred "... clipped to the API's 1024 bytes ..." text-bytes-at-most "$ev" /0/message 1024
assert_pred "... saying so ..." text-contains "$ev" /0/message "bytes)"
assert_pred "... naming the network" text-contains "$ev" /0/message media/net-long

# --- 3. the Events endpoint fails or hangs: ADD succeeds, bounded, one log line ----------------
for status in 403 500; do
    new_case
    put_pod "refused$status" '{"k8s.v1.cni.cncf.io/networks":"net-a, net-b"}'
    printf '{"faults":[{"status":%s,"count":1000,"match":"/events"}]}' "$status" >"$CONTROL"
    ev_run ADD "refused$status" "$CONF"
    assert_rc "3 Events answered $status: ADD still succeeds" 0
    assert_pred "3 ($status) the result is the same as with Events" \
        same-result-shape "$SN_OUT" "$E2E_TMP/add-ok.json" 10.42.
    assert_eq "3 ($status) one log line about the Events" 1 "$(event_log_lines)"
    assert_eq "3 ($status) one TLS connection" 1 "$(handshakes)"
    assert_eq "3 ($status) no Event stored" "[]" "$(cat "$(stored_events "refused$status")")"
    if [[ $status == 403 ]]; then
        assert_pred "3 (403) refused at once: one POST, the other Events not tried" \
            post-statuses "$(log_since_mark)" 403
    else
        assert_pred "3 (500) retried, then given up: the other Events not tried" \
            posts-retried "$(log_since_mark)" 500 /api/v1/namespaces/media/events 2
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
assert_pred "3 (hang) ADD returned while the server still held the Event request" \
    post-statuses "$(log_since_mark)"
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
assert_eq "4b no request at all reached the API server" 0 "$(pred length "$(log_since_mark)")"
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
assert_pred "4c annotations from the runtime (no pod GET before the NAD), Events posted" \
    request-sequence "$(log_since_mark)" GET:net-a GET:crio PUT:status POST:events POST:events
ev=$(stored_events crio)
assert_pred "4c eth0 and net1 announced ..." event-interfaces "$ev" eth0 net1
assert_pred "... UID from CNI_ARGS" all-have "$ev" /involvedObject/uid '"uid-crio"'
ev_run DEL crio "$crio_conf"
assert_rc "4c DEL" 0

e2e_summary
