# shellcheck shell=bash
# The TLS fixture API server (tests/testutil/fake_apiserver.py) for the Kubernetes e2e suites
# (test_k8s_*.sh, test_default_route.sh): started inside one of the suite's private namespaces,
# plus a kubeconfig pointing at it. Source it before installing the EXIT trap that calls
# stop_fake_apiserver.

# require_root_and_plugins PLUGIN...: the preamble of the standalone suites. Not root: skipped
# (exit 77, as ctest expects); a reference plugin missing from /usr/lib/cni: failed, since CI
# installs them and a silent skip would hide a broken setup.
require_root_and_plugins() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "SKIP: needs root (network namespaces)"
        exit 77
    fi
    : "${SPLITNET_BINARY:?}" "${SPLITNET_SOURCE_DIR:?}"
    local plugin
    for plugin in "$@"; do
        [[ -x /usr/lib/cni/$plugin ]] || { echo "FAIL: /usr/lib/cni/$plugin missing" >&2; exit 1; }
    done
}

# The server's pid (the interpreter itself), "" when none runs.
FAKE_APISERVER_PID=""
FAKE_APISERVER_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../testutil" && pwd)/fake_apiserver.py"

# start_fake_apiserver NETNS WORKDIR DATA_DIR TOKEN [ARG...]: starts the server inside NETNS,
# serving the pod/NAD objects under DATA_DIR to bearer TOKEN (ARGs passed on, e.g. --certs-dir),
# logging requests to WORKDIR/requests.log. Sets FAKE_APISERVER_PID at once (so the caller's
# cleanup can stop it), then waits up to 60 s (certificate generation on a loaded machine) for
# WORKDIR/ready. Returns 1, with the server's stderr on stderr, when it did not start.
start_fake_apiserver() {
    local netns=$1 work=$2 data=$3 token=$4 py=/usr/bin/python3 _
    shift 4
    # The system interpreter: a version manager's shim (pyenv) can cost seconds per call.
    [[ -x $py ]] || py=$(command -v python3)
    # Started directly (not through a shell function): ip netns exec execs the interpreter, so
    # $! is the server itself.
    ip netns exec "$netns" "$py" "$FAKE_APISERVER_SCRIPT" --data "$data" \
        --log "$work/requests.log" --token "$token" "$@" >"$work/ready" 2>"$work/apiserver.err" &
    FAKE_APISERVER_PID=$!
    for _ in $(seq 600); do
        [[ -s $work/ready ]] && return 0
        kill -0 "$FAKE_APISERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -s $work/ready ]] && return 0
    echo "fake API server did not start: $(cat "$work/apiserver.err")" >&2
    return 1
}

# stop_fake_apiserver: stops the server started by start_fake_apiserver, if any, and reaps it.
stop_fake_apiserver() {
    [[ -n $FAKE_APISERVER_PID ]] || return 0
    # Also called under `set -e`: a server that already exited is not an error here.
    kill "$FAKE_APISERVER_PID" 2>/dev/null || true
    wait "$FAKE_APISERVER_PID" 2>/dev/null || true
    FAKE_APISERVER_PID=""
    return 0
}

# write_kubeconfig WORKDIR TOKEN: WORKDIR/kubeconfig for the running server (address and CA
# from WORKDIR/ready), authenticating with bearer TOKEN.
write_kubeconfig() {
    local work=$1 token=$2 port ca
    port=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["port"])' "$work/ready")
    ca=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["ca"])' "$work/ready")
    cat >"$work/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $ca
users:
- name: multus
  user:
    token: $token
contexts:
- name: ctx
  context: {cluster: local, user: multus}
current-context: ctx
KUBECONFIG
}

# k8s_e2e_setup: the preamble of the suites that run the plugin against the fixture API server
# (lib.sh sourced first): e2e_init, the reference plugins they use, a private "node" netns
# (where the plugin and the API server run) and a pod netns, and DATA, the directory of the
# objects the server serves. Every pod is a fresh netns; all are deleted on exit (lib.sh).
k8s_e2e_setup() {
    e2e_init
    e2e_require_plugins ptp host-local macvlan static
    e2e_setup_node_pod
    # shellcheck disable=SC2034  # for the suite that calls this
    DATA=$E2E_TMP/data
}

# put_pod_object DATA NS NAME ANNOTATIONS_JSON [NODE]: the pod NS/NAME (uid uid-NAME, one
# busybox container) with these annotations, scheduled on NODE when given, where the server
# serves it (DATA/pods/NS/NAME.json).
put_pod_object() {
    mkdir -p "$1/pods/$2"
    python3 - "$@" <<'PY'
import json, sys
data, ns, name, annotations = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
spec = {"containers": [{"name": name, "image": "busybox"}]}
if len(sys.argv) > 5:
    spec = {"nodeName": sys.argv[5], **spec}
json.dump({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "uid": "uid-" + name,
                        "resourceVersion": "1", "annotations": annotations},
           "spec": spec}, open(f"{data}/pods/{ns}/{name}.json", "w"))
PY
}

# put_nad_object DATA NS NAME CONFIG_JSON_OR_EMPTY: a NetworkAttachmentDefinition NS/NAME with
# CONFIG as its spec.config string, where the server serves it (DATA/nads/NS/NAME.json).
put_nad_object() {
    mkdir -p "$1/nads/$2"
    python3 - "$@" <<'PY'
import json, sys
data, ns, name, config = sys.argv[1:5]
json.dump({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
           "metadata": {"name": name, "namespace": ns}, "spec": {"config": config}},
          open(f"{data}/nads/{ns}/{name}.json", "w"))
PY
}
