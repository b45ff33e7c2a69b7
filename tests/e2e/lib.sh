# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are for the scripts that source this file
# Shared helpers for the splitnet end-to-end scripts (tests/e2e/test_*.sh).
#
# Run one suite by hand (root):  SPLITNET_BINARY=build/splitnet bash tests/e2e/test_core_errors.sh
# or all of them:                 ctest --test-dir build -L e2e --output-on-failure
# Each script prints "ok - ..." / "FAIL - ..." lines and ends with "N passed, N failed"; it exits
# 1 on any failure and 77 (ctest: skipped) when not run as root.
#
# Source it, then call e2e_init. Everything created through these helpers (named netns, temp
# dirs) is removed by an EXIT trap, also when a test fails or is interrupted. Tests never touch
# the machine's own network namespace: the binary runs inside a private "node" netns and
# attaches a private "pod" netns.
#
# Variables after e2e_init / e2e_setup_node_pod:
#   SPLITNET_BINARY  the binary under test      E2E_SOURCE_DIR  repository root
#   E2E_DATA         tests/data                  E2E_PLUGINS     tests/data/plugins (fakes)
#   E2E_TMP          per-script temp dir         NODE_NS, POD_NS netns names
#   POD_NETNS        /var/run/netns/$POD_NS      MASTER          macvlan master in NODE_NS
#   E2E_STATE        splitnet's cniDir           E2E_IPAM        host-local dataDir
# run_splitnet / sn_exec leave SN_OUT, SN_ERR (file paths) and SN_RC.

set -uo pipefail

E2E_PASSED=0
E2E_FAILED=0
E2E_NETNS=()
E2E_DIRS=()
E2E_CLEANUP_CMDS=()
E2E_NAME_PREFIX="splitnet-e2e-$$-${RANDOM}"
E2E_SKIP_CODE=77
# Debian's reference plugins (cniVersion <= 1.0.0).
E2E_CNI_PLUGINS=${E2E_CNI_PLUGINS:-/usr/lib/cni}

# The system interpreter: a version manager's shim (pyenv) can cost seconds per call.
if [[ -x /usr/bin/python3 ]]; then E2E_PYTHON=/usr/bin/python3; else E2E_PYTHON=$(command -v python3); fi
python3() { "$E2E_PYTHON" "$@"; }

e2e_log() { printf '# %s\n' "$*" >&2; }

# e2e_teardown: runs registered cleanup commands (last first), then deletes every netns and temp
# dir we created. What it removed is forgotten, so it can run before the EXIT trap runs it again
# (the demo tears down early to show that nothing is left).
e2e_teardown() {
    local ns pid d i
    for ((i = ${#E2E_CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
        eval "${E2E_CLEANUP_CMDS[$i]}" >/dev/null 2>&1 || true
    done
    for ns in "${E2E_NETNS[@]}"; do
        # Only processes inside our own namespace (e.g. a hung fake plugin) are killed.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null || true
        done
        ip netns delete "$ns" 2>/dev/null || true
    done
    for d in "${E2E_DIRS[@]}"; do
        rm -rf -- "$d"
    done
    E2E_CLEANUP_CMDS=()
    E2E_NETNS=()
    E2E_DIRS=()
}

# e2e_cleanup: EXIT trap. Tears everything down, prints the summary and keeps a failing status.
e2e_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    e2e_teardown
    if [[ ${E2E_SUMMARY_DONE:-0} != 1 ]]; then
        echo "${E2E_PASSED} passed, ${E2E_FAILED} failed (aborted, exit status ${status})"
        ((status == 0)) && status=1
    fi
    exit "$status"
}

# e2e_init: checks prerequisites and installs the cleanup trap.
e2e_init() {
    E2E_SOURCE_DIR=${SPLITNET_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    SPLITNET_BINARY=${SPLITNET_BINARY:-${E2E_SOURCE_DIR}/build/splitnet}
    E2E_DATA=${E2E_SOURCE_DIR}/tests/data
    E2E_PLUGINS=${E2E_DATA}/plugins
    if [[ $(id -u) -ne 0 ]]; then
        echo "SKIPPED: end-to-end tests need root (network namespaces)"
        exit "$E2E_SKIP_CODE"
    fi
    trap e2e_cleanup EXIT
    trap 'exit 130' INT TERM
    if [[ ! -x $SPLITNET_BINARY ]]; then
        echo "splitnet binary not found at $SPLITNET_BINARY (set SPLITNET_BINARY)" >&2
        exit 1
    fi
    local tool
    for tool in ip python3 timeout; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
    done
    e2e_tmpdir E2E_TMP
    E2E_STATE=${E2E_TMP}/state
    E2E_IPAM=${E2E_TMP}/ipam
    SN_CONTAINERID=$(e2e_name cid)
}

# wait_for DESC SECONDS CMD...: polls CMD every 100 ms until it succeeds or the bound passes.
wait_for() {
    local deadline=$((SECONDS + $2)) desc=$1
    shift 2
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.1
    done
}

# no_tentative_addresses NS...: no IPv6 address in these namespaces is still tentative. While
# duplicate address detection runs (up to ~2 s after the address was added: a random delay of up
# to rtr_solicit_delay, then one probe and retrans_time), the kernel does not answer neighbour
# solicitations for the address and never picks it as a source, so IPv6 sent through it
# silently goes nowhere. A failed DAD ("dadfailed") stays tentative, so waiting for it fails.
no_tentative_addresses() {
    local ns
    for ns in "$@"; do
        [[ -z $(ip -n "$ns" -6 addr show tentative) ]] || return 1
    done
}

# wait_for_dad NS...: waits (bounded) until no_tentative_addresses NS... holds; on timeout, shows
# what is still tentative and fails. Call it before any IPv6 traffic through new addresses.
wait_for_dad() {
    wait_for "DAD done in $*" 20 no_tentative_addresses "$@" && return 0
    local ns
    for ns in "$@"; do
        e2e_log "still tentative in ${ns}: $(ip -n "$ns" -6 -o addr show tentative)"
    done
    return 1
}

# e2e_require_plugins PLUGIN...: fails (not skips) when a reference plugin is missing from
# E2E_CNI_PLUGINS: CI installs them, and a silent skip would hide a broken setup.
e2e_require_plugins() {
    local plugin
    for plugin in "$@"; do
        [[ -x $E2E_CNI_PLUGINS/$plugin ]] || { echo "missing $E2E_CNI_PLUGINS/$plugin" >&2; exit 1; }
    done
}

# e2e_name SUFFIX: a unique name, splitnet-e2e-<pid>-<rand>-SUFFIX.
e2e_name() { printf '%s-%s' "$E2E_NAME_PREFIX" "$1"; }

# e2e_tmpdir VAR: a new temp dir, removed on exit, its path stored in VAR. (Not printed for a
# command substitution: its subshell would register the dir for removal in vain.)
e2e_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/splitnet-e2e.XXXXXX") || exit 1
    chmod 0755 "$d"
    E2E_DIRS+=("$d")
    printf -v "$1" '%s' "$d"
}

# e2e_on_exit CMD: run CMD (a string) at exit, before namespaces are deleted.
e2e_on_exit() { E2E_CLEANUP_CMDS+=("$1"); }

# e2e_netns_add NAME: ip netns add, registered for deletion, loopback up.
e2e_netns_add() {
    ip netns add "$1" || { echo "cannot create netns $1" >&2; exit 1; }
    E2E_NETNS+=("$1")
    ip -n "$1" link set lo up
}

# e2e_setup_node_pod: a node netns (where the plugin runs, with a veth pair whose end MASTER
# serves as macvlan master) and an empty pod netns.
e2e_setup_node_pod() {
    NODE_NS=$(e2e_name node)
    POD_NS=$(e2e_name pod)
    POD_NETNS=/var/run/netns/${POD_NS}
    MASTER=vpn0
    e2e_netns_add "$NODE_NS"
    e2e_netns_add "$POD_NS"
    ip -n "$NODE_NS" link add "$MASTER" type veth peer name "${MASTER}p" || exit 1
    ip -n "$NODE_NS" link set "$MASTER" up
    ip -n "$NODE_NS" link set "${MASTER}p" up
}

# e2e_new_pod: replace POD_NS/POD_NETNS with a fresh empty pod netns. Numbered, not random: a
# suite that makes a dozen pods drew the same $RANDOM twice about once in a few hundred runs.
E2E_POD_SERIAL=0
e2e_new_pod() {
    E2E_POD_SERIAL=$((E2E_POD_SERIAL + 1))
    POD_NS=$(e2e_name "pod-s${E2E_POD_SERIAL}")
    POD_NETNS=/var/run/netns/${POD_NS}
    e2e_netns_add "$POD_NS"
}

# e2e_new_pod_and_container: a fresh pod netns (e2e_new_pod) and a container ID (SN_CONTAINERID)
# no earlier call of this run gave.
e2e_new_pod_and_container() {
    e2e_new_pod
    SN_CONTAINERID=$(e2e_name "cid-s${E2E_POD_SERIAL}")
}

# e2e_del_netns NAME: delete one of our namespaces early (e.g. "the pod is gone").
e2e_del_netns() {
    ip netns delete "$1"
}

# ---------------------------------------------------------------------------------------------
# Running the plugin

SN_OUT=
SN_ERR=
SN_RC=
SN_TIMEOUT=${SN_TIMEOUT:-120}

# sn_exec CONF [VAR=VALUE ...]: run the binary in NODE_NS with exactly the given environment
# (plus PATH) and CONF on stdin. CONF is a JSON string, or @FILE. Sets SN_OUT, SN_ERR, SN_RC.
sn_exec() {
    local conf=$1
    shift
    SN_OUT=${E2E_TMP}/last.stdout
    SN_ERR=${E2E_TMP}/last.stderr
    local input
    if [[ $conf == @* ]]; then
        input=${conf#@}
    else
        input=${E2E_TMP}/last.stdin
        printf '%s' "$conf" >"$input"
    fi
    ip netns exec "$NODE_NS" timeout -s KILL "$SN_TIMEOUT" \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" \
        "$SPLITNET_BINARY" <"$input" >"$SN_OUT" 2>"$SN_ERR"
    SN_RC=$?
    return 0
}

# Defaults for run_splitnet; tests change them as needed.
SN_CONTAINERID=
SN_IFNAME=eth0
SN_CNI_ARGS=
SN_CNI_PATH=

# run_splitnet VERB CONF [VAR=VALUE ...]: the runtime's call: CNI_COMMAND=VERB,
# CNI_CONTAINERID=$SN_CONTAINERID, CNI_NETNS=$POD_NETNS, CNI_IFNAME=$SN_IFNAME,
# CNI_PATH=${SN_CNI_PATH:-/usr/lib/cni}, CNI_ARGS when SN_CNI_ARGS is set.
run_splitnet() {
    local verb=$1 conf=$2
    shift 2
    local env=(CNI_COMMAND="$verb" CNI_CONTAINERID="$SN_CONTAINERID"
        CNI_NETNS="$POD_NETNS" CNI_IFNAME="$SN_IFNAME" CNI_PATH="${SN_CNI_PATH:-$E2E_CNI_PLUGINS}")
    [[ -n $SN_CNI_ARGS ]] && env+=(CNI_ARGS="$SN_CNI_ARGS")
    sn_exec "$conf" "${env[@]}" "$@"
}

# sn_dump: show the last invocation's outputs (on failures).
sn_dump() {
    {
        echo "#   exit status: ${SN_RC}"
        echo "#   stdout: $(head -c 4000 "$SN_OUT")"
        echo "#   stderr (tail):"
        tail -n 15 "$SN_ERR" | sed 's/^/#     /'
    } >&2
}

# ---------------------------------------------------------------------------------------------
# JSON (python3; jq is not a dependency): named predicates and extractors in predicates.py

E2E_PREDICATES="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/predicates.py"

# pred NAME FILE ARG...: run one predicate of predicates.py over FILE: exit 0 when it holds, 1
# (with what was expected and what was found on stderr) when not, 2 on a bad FILE or arguments.
# Extractors (value, error-text, length, ...) print what they extract.
pred() { python3 "$E2E_PREDICATES" "$@"; }

# json_value FILE POINTER: the value at a JSON Pointer ("/msg", "/plugins/0/type"); strings raw,
# other values as compact JSON. Exit status 1 when it is not there, 2 when FILE is not JSON.
json_value() { pred value "$1" "$2"; }

# error_text FILE: a CNI error's msg and details, joined by a space.
error_text() { pred error-text "$1"; }

# U+FFFD (the replacement character) as UTF-8 bytes, whatever the locale.
U_FFFD=$'\xef\xbf\xbd'

# is_one_json FILE: exactly one JSON document (whitespace around it allowed, nothing else).
is_one_json() { pred one-json "$1" 2>/dev/null; }

# pod_addr_json [NS]: `ip -j addr` of the pod netns into a file, printing its path.
pod_addr_json() {
    local f=${E2E_TMP}/ipaddr.json
    ip -n "${1:-$POD_NS}" -j addr show >"$f"
    printf '%s' "$f"
}

# ---------------------------------------------------------------------------------------------
# Assertions: each prints "ok - ..." or "FAIL - ..." and counts.

pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    echo "ok - $*"
}

fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    echo "FAIL - $*"
}

# check DESC CMD...: passes when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; return 1; fi
}

# check_not DESC CMD...: passes when CMD fails.
check_not() {
    local desc=$1
    shift
    if "$@"; then fail "$desc"; return 1; else pass "$desc"; fi
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
    if [[ $2 == "$3" ]]; then
        pass "$1"
    else
        fail "$1: expected '$2', got '$3'"
        return 1
    fi
}

# assert_contains DESC HAYSTACK NEEDLE
assert_contains() {
    if [[ $2 == *"$3"* ]]; then
        pass "$1"
    else
        fail "$1: '$3' not in '${2:0:500}'"
        return 1
    fi
}

# assert_rc DESC EXPECTED: the last run's exit status.
assert_rc() {
    if [[ $SN_RC == "$2" ]]; then
        pass "$1 (exit $2)"
    else
        fail "$1: exit status ${SN_RC}, expected $2"
        sn_dump
        return 1
    fi
}

# assert_failed DESC: the last run failed cleanly: exit status 1..125 (no signal, no timeout)
# and stdout is exactly one CNI error object.
assert_failed() {
    local err
    if ((SN_RC > 0 && SN_RC < 126)) && err=$(pred cni-error "$SN_OUT" 2>&1); then
        pass "$1 (exit ${SN_RC}, code $(json_value "$SN_OUT" /code))"
    else
        fail "$1: expected a clean failure with one CNI error object on stdout${err:+ ($err)}"
        sn_dump
        return 1
    fi
}

# assert_error_code DESC CODE: clean failure with this CNI error code.
assert_error_code() {
    local desc=$1 code=$2 err
    if ((SN_RC > 0 && SN_RC < 126)) && err=$(pred error-code "$SN_OUT" "$code" 2>&1); then
        pass "$desc (code $code)"
    else
        fail "$desc: expected non-zero exit and error code $code${err:+ ($err)}"
        sn_dump
        return 1
    fi
}

# assert_pred DESC NAME FILE ARG...: predicate NAME of predicates.py holds over FILE; on failure
# the message says what was expected and what was found.
assert_pred() {
    local desc=$1 file=$3 err
    shift
    if err=$(pred "$@" 2>&1); then
        pass "$desc"
    else
        fail "$desc: ${err}"
        echo "#   document: $(head -c 1500 "$file")" >&2
        return 1
    fi
}

# assert_ok DESC: exit 0 and nothing but whitespace or one JSON document on stdout.
assert_ok() {
    if [[ $SN_RC == 0 ]] && { ! grep -q '[^[:space:]]' "$SN_OUT" || is_one_json "$SN_OUT"; }; then
        pass "$1"
    else
        fail "$1"
        sn_dump
        return 1
    fi
}

# e2e_summary: the last line ("N passed, N failed"); exit status 1 on any failure.
e2e_summary() {
    E2E_SUMMARY_DONE=1
    echo "${E2E_PASSED} passed, ${E2E_FAILED} failed"
    if ((E2E_FAILED > 0 || E2E_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------------------------------------
# Node-side inspection

# link_mac NS IFNAME: the MAC address of IFNAME in netns NS.
link_mac() {
    local f=${E2E_TMP}/link-$1-$2.json
    ip -n "$1" -j link show "$2" >"$f" && json_value "$f" /0/address
}

# node_links: link names in NODE_NS, one per line.
node_links() {
    ip -n "$NODE_NS" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'
}

# pod_links [NS]: link names in the pod netns, one per line.
pod_links() {
    ip -n "${1:-$POD_NS}" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'
}

# node_extra_links [NAME...]: the node's links but lo, the macvlan master and its veth peer (and
# each NAME with its peer).
node_extra_links() {
    local skip=(-e lo -e "$MASTER" -e "${MASTER}p") name
    for name in "$@"; do skip+=(-e "$name" -e "${name}p"); done
    node_links | grep -v -x "${skip[@]}"
}

# assert_nothing_left LABEL [NAME...]: the pod has only lo, the node no veth but the master (and
# the NAMEs), no host-local lease is left and no state file of SN_CONTAINERID.
assert_nothing_left() {
    local label=$1
    shift
    assert_eq "[$label] pod has only lo" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
    assert_eq "[$label] no veth left on the node side" "" "$(node_extra_links "$@")"
    assert_eq "[$label] no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
    assert_eq "[$label] no state file left" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
}

# assert_no_file_of_container LABEL: not even a lock file of SN_CONTAINERID is left in cniDir.
assert_no_file_of_container() {
    assert_eq "[$1] no file of the container left in cniDir" "" \
        "$(find "$E2E_STATE" -name "*${SN_CONTAINERID}*" 2>/dev/null)"
}

# conf_meet NAME ADDRESS COUNT [EXTRA]: an e2e-meet delegate (tests/data/plugins) whose call of
# the verb it meets on (its default: DEL; EXTRA '"meetVerb":"ADD"') waits, bounded, until COUNT
# calls are in at once, under the directory MEET: proof that they run side by side.
conf_meet() {
    conf_fake e2e-meet "$1" "\"fakeAddress\":\"$2\",\"meetDir\":\"$MEET\",\"meetCount\":$3${4:+,$4}"
}

# host_local_leases DIR: lease files under a host-local dataDir (not the bookkeeping files).
host_local_leases() {
    find "$1" -type f ! -name 'last_reserved_ip*' ! -name lock 2>/dev/null
}

# files_named DIR PATTERN: files under DIR whose name contains PATTERN, lock files excluded.
files_named() {
    find "$1" -name "*$2*" ! -name '*.lock' 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Configurations (delegates are at 1.0.0: Debian's plugins stop there)

# conf_primary [NAME]: ptp + host-local 10.42.0.0/24 with a default route, dataDir in E2E_IPAM.
conf_primary() {
    cat <<EOF
{"cniVersion":"1.0.0","name":"${1:-cluster}","type":"ptp","ipMasq":false,
 "ipam":{"type":"host-local","subnet":"10.42.0.0/24","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"${E2E_IPAM}"}}
EOF
}

# conf_macvlan [NAME] [MASTER] [ADDRESS]: Debian macvlan (bridge mode) + static, gateway 10.10.20.1.
conf_macvlan() {
    cat <<EOF
{"cniVersion":"1.0.0","name":"${1:-vpn}","type":"macvlan","master":"${2:-$MASTER}","mode":"bridge",
 "ipam":{"type":"static","addresses":[{"address":"${3:-10.10.20.5/24}","gateway":"10.10.20.1"}]}}
EOF
}

# conf_bridge [NAME]: Debian bridge (snbr0 in the node netns) + static 192.0.2.5/24.
conf_bridge() {
    cat <<EOF
{"cniVersion":"1.0.0","name":"${1:-lab}","type":"bridge","bridge":"snbr0",
 "ipam":{"type":"static","addresses":[{"address":"192.0.2.5/24"}]}}
EOF
}

# conf_fake TYPE NAME [EXTRA_JSON_MEMBERS]: a fake plugin from tests/data/plugins, spying into
# ${E2E_TMP}/spy.log.
conf_fake() {
    printf '{"cniVersion":"1.0.0","name":"%s","type":"%s","spyLog":"%s"%s}' \
        "$2" "$1" "${E2E_TMP}/spy.log" "${3:+,$3}"
}

# conf_meta VERSION DELEGATE...: the meta config (cniDir E2E_STATE, binDir E2E_META_BINDIR or
# Debian's plugin dir, extra top-level members from E2E_META_EXTRA). Delegates that splitnet
# could create natively are exec'd ("disableNative") so the Debian plugins are exercised, unless
# E2E_META_NATIVE=1. E2E_META_OVERLAP (true/false; unset: the default) sets "overlap": ctest runs
# the rollback and kill-safety suites once more with it false (tests/CMakeLists.txt).
E2E_META_OVERLAP=${E2E_META_OVERLAP:-}
E2E_META_EXTRA=
E2E_META_BINDIR=
E2E_META_NATIVE=0
conf_meta() {
    local version=$1
    shift
    local delegates
    delegates=$(IFS=,; echo "$*")
    local overlap=${E2E_META_OVERLAP:+,\"overlap\":$E2E_META_OVERLAP}
    cat <<EOF
{"cniVersion":"${version}","name":"pod-net","type":"splitnet","cniDir":"${E2E_STATE}",
 "binDir":"${E2E_META_BINDIR:-$E2E_CNI_PLUGINS}","disableNative":$( ((E2E_META_NATIVE)) && echo false || echo true),"logLevel":"debug"${overlap}${E2E_META_EXTRA:+,$E2E_META_EXTRA},
 "delegates":[${delegates}]}
EOF
}

# with_prev CONF RESULT_FILE: CONF with "prevResult" set to the result (what a runtime sends on
# CHECK and DEL).
with_prev() {
    python3 -c '
import json, sys
conf = json.loads(sys.argv[1])
with open(sys.argv[2]) as f:
    conf["prevResult"] = json.load(f)
print(json.dumps(conf))' "$1" "$2"
}
