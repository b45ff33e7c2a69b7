#!/usr/bin/env bash
# The CNI protocol's error paths through the built binary: environment and decode errors with the
# Go skel's codes, VERSION, the "about" text, hostile names, delegate error pass-through, the
# delegate timeout, huge stdin, and deeply nested JSON and invalid UTF-8 that must still give one
# valid JSON error.
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_setup_node_pod

E2E_META_BINDIR=$E2E_PLUGINS
OK_CONF=$(conf_meta 1.0.0 "$(conf_fake e2e-ok primary)")

# assert_no_side_effects LABEL: the fakes were not called and nothing was written. The one
# exception is the node agent's outcome log (fixed name, fixed format: verb, result, code,
# seconds; nothing from the request), which counts the refused verb: its lines are checked.
assert_no_side_effects() {
    assert_eq "[$1] no delegate was called" "" "$(cat "${E2E_TMP}/spy.log" 2>/dev/null)"
    assert_eq "[$1] nothing written under cniDir" "" \
        "$(find "$E2E_STATE" -type f ! -name '*.lock' ! -name outcomes.log 2>/dev/null)"
    assert_eq "[$1] the outcome log holds only its own fixed-format lines" "" \
        "$(grep -a -v -E '^v1 (ADD|DEL|CHECK) (ok 0|error [0-9]+) [0-9]+\.[0-9]{6}$' \
            "$E2E_STATE/outcomes.log" 2>/dev/null)"
    rm -f "${E2E_TMP}/spy.log"
}

# --- environment (code 4; the message names what is missing) ------------------------------------
sn_exec "$OK_CONF" CNI_COMMAND=ADD CNI_PATH="$E2E_CNI_PLUGINS"
assert_error_code "ADD without CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME" 4
MSG=$(json_value "$SN_OUT" /msg)
for var in CNI_CONTAINERID CNI_NETNS CNI_IFNAME; do
    assert_contains "the message names $var" "$MSG" "$var"
done
assert_no_side_effects "missing env"

sn_exec "$OK_CONF" CNI_COMMAND=ADD CNI_CONTAINERID="$SN_CONTAINERID" CNI_NETNS="$POD_NETNS" \
    CNI_PATH="$E2E_CNI_PLUGINS"
assert_error_code "ADD without CNI_IFNAME only" 4
MSG=$(json_value "$SN_OUT" /msg)
assert_contains "the message names CNI_IFNAME" "$MSG" "CNI_IFNAME"
check_not "the message does not blame CNI_NETNS, which is set" grep -q CNI_NETNS <<<"$MSG"

sn_exec "$OK_CONF" CNI_COMMAND=FROBNICATE CNI_CONTAINERID="$SN_CONTAINERID" CNI_NETNS="$POD_NETNS" \
    CNI_IFNAME=eth0 CNI_PATH="$E2E_CNI_PLUGINS"
assert_error_code "unknown CNI_COMMAND (Go skel: code 4)" 4
assert_contains "the message names the command" "$(json_value "$SN_OUT" /msg)" "FROBNICATE"
assert_no_side_effects "unknown command"

# --- decoding and config (codes 6, 7, 1) --------------------------------------------------------
run_splitnet ADD '{"cniVersion": "1.0.0", "name": '
assert_error_code "truncated JSON" 6
run_splitnet ADD ''
assert_error_code "empty stdin" 6
run_splitnet ADD '[1, 2, 3]'
assert_failed "a JSON array instead of an object"
run_splitnet ADD "$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); del c["name"]; print(json.dumps(c))' "$OK_CONF")"
assert_error_code "missing name" 7
run_splitnet ADD "${OK_CONF/\"pod-net\"/\"bad/name\"}"
assert_error_code "network name with a slash" 7
run_splitnet ADD "${OK_CONF/\"cniVersion\":\"1.0.0\"/\"cniVersion\":\"9.9.9\"}"
assert_error_code "unsupported cniVersion 9.9.9" 1
run_splitnet ADD "$(conf_meta 1.0.0)"
assert_failed "empty delegates list"
assert_no_side_effects "decode errors"

# --- VERSION and the about text -----------------------------------------------------------------
sn_exec '{"cniVersion":"1.0.0"}' CNI_COMMAND=VERSION
assert_rc "VERSION" 0
assert_pred "VERSION lists 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0" \
    supports-versions "$SN_OUT" 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0
assert_pred "VERSION has a non-empty cniVersion" nonempty-string "$SN_OUT" /cniVersion
# libcni's probe (pkg/invoke GetVersionInfo) sends dummy values and an empty-ish stdin.
sn_exec '{"cniVersion":"0.1.0"}' CNI_COMMAND=VERSION CNI_NETNS=dummy CNI_IFNAME=dummy CNI_PATH=dummy
assert_rc "VERSION as libcni probes it" 0
check "VERSION output is one JSON document" is_one_json "$SN_OUT"

sn_exec '' 
assert_rc "no CNI_COMMAND" 0
assert_eq "no CNI_COMMAND: stdout is empty" "" "$(cat "$SN_OUT")"
check "no CNI_COMMAND: an about text on stderr" grep -q '[[:alnum:]]' "$SN_ERR"

# --- the command line is strict: a typo (say, an init container's `splitnet verfiy`) must fail ---
run_cli() { # ARGS...: run the binary with arguments and no CNI environment; sets SN_RC
    SN_OUT=${E2E_TMP}/cli.stdout
    SN_ERR=${E2E_TMP}/cli.stderr
    env -i "$SPLITNET_BINARY" "$@" </dev/null >"$SN_OUT" 2>"$SN_ERR"
    SN_RC=$?
}
for args in 'verfiy' 'instal' '--bogus' 'help extra'; do
    # shellcheck disable=SC2086  # split on purpose: each case is a whole argument list
    run_cli $args
    assert_rc "unknown command line '$args': usage error" 2
    assert_eq "... stdout stays empty" "" "$(cat "$SN_OUT")"
    check "... usage on stderr lists the subcommands" grep -q '^  install' "$SN_ERR"
done
# The subcommands' own flags are strict too.
for args in 'verify --bogus' 'verify extra' 'uninstall --bogus' 'uninstall extra'; do
    # shellcheck disable=SC2086  # split on purpose: each case is a whole argument list
    run_cli $args
    assert_rc "unknown argument '$args': usage error" 2
    assert_eq "... stdout stays empty" "" "$(cat "$SN_OUT")"
done
run_cli help
assert_rc "help" 0
check "help lists install on stdout" grep -q '^  install' "$SN_OUT"
run_cli --version
assert_rc "--version" 0
check "--version prints the version" grep -q '^splitnet [0-9]' "$SN_OUT"
run_cli install --bogus-flag
assert_rc "install with an unknown flag: usage error" 2

# --- hostile names (the Go skel's rules, code 4; nothing may be touched) ------------------------
for ifname in '../../etc' 'eth0/x' '.' '..' 'a b' 'eth0:1' 'abcdefghijklmnop' ''; do
    SN_IFNAME=$ifname
    run_splitnet ADD "$OK_CONF"
    assert_error_code "ADD with hostile ifname '$ifname'" 4
done
SN_IFNAME=eth0
assert_eq "no link appeared in the pod" "lo" "$(pod_links | tr '\n' ' ' | sed 's/ $//')"
assert_no_side_effects "hostile ifname"

SAVED_CID=$SN_CONTAINERID
for cid in '../../../tmp/evil' 'a/b' '-leading-dash' 'white space' $'new\nline'; do
    SN_CONTAINERID=$cid
    run_splitnet ADD "$OK_CONF"
    assert_error_code "ADD with hostile container id '${cid//$'\n'/\\n}'" 4
    run_splitnet DEL "$OK_CONF"
    assert_failed "DEL with hostile container id '${cid//$'\n'/\\n}'"
done
SN_CONTAINERID=''
run_splitnet ADD "$OK_CONF"
assert_failed "ADD with an empty container id"
SN_CONTAINERID=$SAVED_CID
check_not "nothing was created outside cniDir" test -e /tmp/evil
assert_no_side_effects "hostile container id"

# --- delegate types and lookup ------------------------------------------------------------------
for type in '../plugins/e2e-ok' 'plugins/e2e-ok' "${E2E_PLUGINS}/e2e-ok" 'does-not-exist'; do
    run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake "$type" primary)")"
    assert_failed "delegate type '$type' is rejected"
    assert_contains "the error names '$type'" \
        "$(error_text "$SN_OUT")" "$type"
done
assert_no_side_effects "delegate types"

# --- each delegate gets its own CNI_IFNAME and the runtime's CNI_ARGS ------------------------------
SN_CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=qbittorrent'
run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake e2e-ok primary)" "$(conf_fake e2e-ok second '"fakeAddress":"198.51.100.7/24"')")"
SN_CNI_ARGS=
assert_rc "ADD with two fake delegates and CNI_ARGS" 0
# (Side by side with overlap, the default: in either order.)
assert_eq "delegates were called with CNI_IFNAME eth0 and net1" "eth0 net1" \
    "$(awk '$2 == "ADD" {print $3}' "${E2E_TMP}/spy.log" | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "both delegates saw K8S_POD_NAME=qbittorrent" 2 "$(grep -c 'ADD .*K8S_POD_NAME=qbittorrent' "${E2E_TMP}/spy.log")"
assert_eq "both delegates saw K8S_POD_NAMESPACE=media" 2 "$(grep -c 'ADD .*K8S_POD_NAMESPACE=media' "${E2E_TMP}/spy.log")"
run_splitnet DEL "$(conf_meta 1.0.0 "$(conf_fake e2e-ok primary)" "$(conf_fake e2e-ok second)")"
assert_rc "DEL of the two fake delegates" 0
rm -f "${E2E_TMP}/spy.log"

# --- a delegate's own error is passed on, with its stderr ---------------------------------------
run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake e2e-fail primary '"failCode":11')")"
assert_error_code "the delegate's code 11 is passed on (not 999)" 11
assert_contains "the delegate's msg is kept" "$(json_value "$SN_OUT" /msg)" "try later; busy"
assert_contains "the delegate's details are kept" "$(json_value "$SN_OUT" /details)" "e2e-fail details"
check "the delegate's stderr is forwarded to ours" grep -q 'e2e-fail: failing on purpose' "$SN_ERR"
rm -f "${E2E_TMP}/spy.log"

# --- a hanging delegate is killed at the timeout ------------------------------------------------
PIDFILE=${E2E_TMP}/hang.pid
E2E_META_EXTRA='"delegateTimeout":2'
start=$(date +%s)
run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake e2e-hang primary "\"pidFile\":\"${PIDFILE}\"")")"
elapsed=$(($(date +%s) - start))
E2E_META_EXTRA=
# Not a wall-clock bound (the machine may be loaded): splitnet returned by itself (a clean
# failure, not the harness's kill) and says it applied the configured 2 s, not the 60 s default.
assert_failed "ADD with a hanging delegate fails cleanly"
e2e_log "it returned after ${elapsed} s"
assert_contains "the error says the delegate timed out at the configured 2 s" \
    "$(error_text "$SN_OUT")" "timed out after 2000 ms"
if [[ -s $PIDFILE ]]; then
    HANG_PID=$(cat "$PIDFILE")
    check_not "the hung delegate (pid $HANG_PID) is gone when splitnet returns" \
        kill -0 "$HANG_PID" 2>/dev/null
else
    fail "the hanging delegate never started (no pid file)"
fi
assert_eq "no state file left after the timeout" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
rm -f "${E2E_TMP}/spy.log"

# --- huge stdin -------------------------------------------------------------------------------
# splitnet caps stdin (4 MiB): anything larger fails cleanly before any work; a large config under
# the cap works, also when a delegate never reads its large stdin.
HUGE=${E2E_TMP}/huge.json
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$HUGE"
run_splitnet ADD "@$HUGE"
assert_failed "16 MiB of garbage on stdin"

# padded_conf FILE BYTES [DELEGATE_BYTES]: OK_CONF-like config padded with unknown keys.
padded_conf() {
    python3 - "$1" "$2" "${3:-0}" "$(conf_meta 1.0.0 "$(conf_fake e2e-noread primary)")" <<'PY'
import json, sys
path, size, delegate_size, conf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
if size:
    conf["padding"] = "x" * size
if delegate_size:
    conf["delegates"][0]["padding"] = "y" * delegate_size
with open(path, "w") as f:
    json.dump(conf, f)
PY
}

padded_conf "$HUGE" $((8 * 1024 * 1024))
run_splitnet ADD "@$HUGE"
assert_failed "a valid 8 MiB meta config fails cleanly"
assert_no_side_effects "8 MiB config"

SN_CONTAINERID=$(e2e_name big)
padded_conf "$HUGE" $((3 * 1024 * 1024))
run_splitnet ADD "@$HUGE"
assert_rc "ADD with a 3 MiB meta config (unknown key)" 0
check "its result is one JSON document" is_one_json "$SN_OUT"
run_splitnet DEL "@$HUGE"
assert_rc "DEL with the 3 MiB config" 0

# A delegate that never reads its 3 MiB stdin: splitnet must not die of SIGPIPE.
SN_CONTAINERID=$(e2e_name noread)
padded_conf "$HUGE" 0 $((3 * 1024 * 1024))
run_splitnet ADD "@$HUGE"
check "a delegate that ignores its 3 MiB stdin does not kill splitnet (exit $SN_RC)" test "$SN_RC" -lt 126
check "stdout is still one JSON document" is_one_json "$SN_OUT"
run_splitnet DEL "@$HUGE"
assert_rc "DEL after it" 0

# --- bounded JSON and always-valid JSON errors ------------------------------------------------------
# Each of these crashed or aborted on main (rc 139/134, nothing on stdout). Now: one valid JSON
# error (is_one_json also rejects invalid UTF-8), a code, exit 1, no work done.
DEEP=${E2E_TMP}/deep.json
rm -f "${E2E_TMP}/spy.log"
# deep_conf FILE DEPTH WHERE: OK_CONF with an array nested DEPTH levels at the top of the meta
# config (WHERE=meta) or inside the primary delegate (WHERE=delegate); written as text, since
# Python's json module cannot nest that deep either.
deep_conf() {
    python3 - "$@" "$OK_CONF" <<'PY'
import sys
path, depth, where, conf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
deep = "[" * depth + "]" * depth
if where == "meta":
    text = '{"deep":' + deep + "," + conf.lstrip()[1:]
elif where == "delegate":
    anchor = '"delegates":['
    at = conf.index(anchor) + len(anchor)
    assert conf[at] == "{"
    text = conf[: at + 1] + '"deep":' + deep + "," + conf[at + 1 :]
else:
    text = '{"cniVersion":"1.0.0","name":"deep","type":"ptp","deep":' + deep + "}"
open(path, "w").write(text)
PY
}

deep_conf "$DEEP" 200000 meta
run_splitnet ADD "@$DEEP"
assert_error_code "stdin nested 200000 levels deep" 6
assert_contains "the error says what is wrong" "$(json_value "$SN_OUT" /msg)" "deeper than the limit of 128 levels"
run_splitnet DEL "@$DEEP"
assert_error_code "DEL with the same stdin" 6
deep_conf "$DEEP" 100000 delegate
run_splitnet ADD "@$DEEP"
assert_error_code "a delegate in 'delegates' nested 100000 levels deep" 6
deep_conf "$DEEP" 128 meta
run_splitnet ADD "@$DEEP"
assert_error_code "stdin nested 129 levels, one more than the limit" 6
assert_no_side_effects "deep stdin"
SN_CONTAINERID=$(e2e_name atlimit)
deep_conf "$DEEP" 127 meta
run_splitnet ADD "@$DEEP"
assert_rc "ADD with stdin nested exactly 128 levels" 0
run_splitnet DEL "@$DEEP"
assert_rc "DEL with it" 0
rm -f "${E2E_TMP}/spy.log"

# A network config from a file (clusterNetwork as a path; a NAD's config takes the same parser).
deep_conf "${E2E_TMP}/deep-net.conf" 100000 file
run_splitnet ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"pod-net\",\"type\":\"splitnet\",\"cniDir\":\"${E2E_STATE}\",\"binDir\":\"${E2E_PLUGINS}\",\"clusterNetwork\":\"${E2E_TMP}/deep-net.conf\"}"
assert_error_code "clusterNetwork file nested 100000 levels deep" 7
assert_contains "the error names the file" "$(json_value "$SN_OUT" /msg)" "deep-net.conf"
assert_no_side_effects "deep network file"

# Invalid UTF-8 from the runtime's environment ends up in error messages.
SAVED_CID=$SN_CONTAINERID
SN_CONTAINERID=$'bad\xff\xfeid'
run_splitnet ADD "$OK_CONF"
assert_error_code "CNI_CONTAINERID with invalid UTF-8" 4
SN_CONTAINERID=$SAVED_CID
SN_CNI_ARGS=$'IgnoreUnknown=1;no-equals-sign-\xff'
run_splitnet ADD "$OK_CONF"
assert_error_code "CNI_ARGS with invalid UTF-8" 4
SN_CNI_ARGS=
sn_exec "$OK_CONF" CNI_COMMAND=ADD CNI_CONTAINERID="$SN_CONTAINERID" CNI_NETNS=$'/nonexistent/\xffns' \
    CNI_IFNAME=eth0 CNI_PATH="$E2E_CNI_PLUGINS"
assert_failed "CNI_NETNS with invalid UTF-8"
assert_contains "the netns is named, its bad byte replaced" "$(error_text "$SN_OUT")" $'/nonexistent/\xef\xbf\xbdns'
assert_no_side_effects "invalid UTF-8 in the environment"

# A delegate's output in the error: invalid UTF-8, and multi-byte text clipped by byte limits.
run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake e2e-utf8 primary '"utf8Mode":"garbage"')")"
assert_error_code "a delegate printing invalid UTF-8 on stdout and stderr" 999
assert_pred "its stderr is in the message, bad bytes replaced" \
    text-contains "$SN_OUT" /msg "bad byte $U_FFFD on stderr"
assert_pred "its stdout is in the details, bad bytes replaced" \
    text-contains "$SN_OUT" /details "not json $U_FFFD$U_FFFD and a cut $U_FFFD"
run_splitnet ADD "$(conf_meta 1.0.0 "$(conf_fake e2e-utf8 primary '"utf8Mode":"long"')")"
assert_error_code "a delegate printing 15000 + 70000 bytes of multi-byte text" 999
assert_pred "stdout is clipped at a character boundary ..." text-ends-with "$SN_OUT" /details "... (15000 bytes)"
assert_pred "... with no U+FFFD" text-lacks "$SN_OUT" /details "$U_FFFD"
assert_pred "... in under 4200 bytes" text-bytes-at-most "$SN_OUT" /details 4199
assert_pred "stderr is cut at a character boundary ..." text-contains "$SN_OUT" /msg "[stderr truncated]"
assert_pred "... with no U+FFFD" text-lacks "$SN_OUT" /msg "$U_FFFD"
assert_eq "no state file left after the failing delegates" "" "$(files_named "$E2E_STATE" "$SN_CONTAINERID")"
rm -f "${E2E_TMP}/spy.log"

e2e_summary
