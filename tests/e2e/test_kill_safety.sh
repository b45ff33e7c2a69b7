#!/usr/bin/env bash
# Kill-safety: wherever the runtime SIGKILLs splitnet during ADD, the next
# DEL leaves nothing behind: no link in the pod under any name, no host-local lease, no veth on
# the node side, no state or lock file, no process of that ADD still running (including a
# delegate's child that would finish its work after the DEL). And a DEL on a read-only cniDir
# still calls every delegate, then reports that it could not remove the state.
# Kill points are the SPLITNET_TEST_KILL_AT test hook (include/splitnet/util/kill_point.hpp); the kill during
# a delegate is made by this script once the fake delegate says where it is (no timing).
source "$(dirname "$0")/lib.sh"
e2e_init
e2e_require_plugins ptp host-local
e2e_setup_node_pod

# alive PID: the process exists and is not a zombie.
alive() {
    [[ -r /proc/$1/stat ]] && ! awk '{ if ($3 == "Z") exit 0; exit 1 }' "/proc/$1/stat" 2>/dev/null
}

# processes_of CID: pids of live processes whose environment names the container (a delegate of
# ours or its child).
processes_of() {
    local pid
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        alive "$pid" || continue
        if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "CNI_CONTAINERID=$1"; then
            echo "$pid"
        fi
    done
}

# assert_clean LABEL: nothing left, not even a lock file or a process of the container.
assert_clean() {
    assert_nothing_left "$1"
    assert_no_file_of_container "$1"
    assert_eq "[$1] no process of the container left" "" "$(processes_of "$SN_CONTAINERID")"
}

# kill_at_every_step NAME_PREFIX LABEL_PREFIX: ADD of CONF killed at each step of ADD, then the
# runtime's DEL: nothing may be left (and no egress route).
kill_at_every_step() {
    local step label
    for step in state-saved delegate-spawned@1 attachment-added@1 native-link-created \
        native-renamed native-addresses native-up native-routes native-egress attachment-added@2 \
        added; do
        SN_CONTAINERID=$(e2e_name "$1${step%@*}")
        label="$2$step"
        run_splitnet ADD "$CONF" SPLITNET_TEST_KILL_AT="$step"
        assert_eq "[$label] splitnet was SIGKILLed at the step" "137" "$SN_RC"
        run_splitnet DEL "$CONF"
        assert_rc "[$label] DEL after the kill" 0
        assert_clean "$label"
        assert_eq "[$label] no egress route left in the pod" "" \
            "$(ip -n "$POD_NS" route show table all proto 83)"
    done
}

# --- a kill at every step of ADD: ptp + host-local (exec'd), native macvlan + static -----------
E2E_META_NATIVE=1
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan)")
kill_at_every_step k ""

# --- the same with an egress block on net1: with overlap its policy is a step of its own, after
# the primary's ADD (native-egress), and a kill on either side of it leaves nothing either ----
E2E_META_EXTRA='"clusterCIDRs":["10.42.0.0/16"]'
CONF=$(conf_meta 1.0.0 "$(conf_primary)" "$(conf_macvlan | sed 's/}$/,"egress":{"keep":["cluster"],"probeGateway":"off","probeConflict":false}}/')")
kill_at_every_step e "egress "
E2E_META_EXTRA=
E2E_META_NATIVE=0

# --- a kill while a delegate runs, whose child goes on after the kill --------------------------
SN_CONTAINERID=$(e2e_name spawner)
PIDS=${E2E_TMP}/pids
GATE=${E2E_TMP}/gate
LEAK=${E2E_TMP}/leaked
mkdir -p "$PIDS"
mkfifo "$GATE"
E2E_META_BINDIR=$E2E_PLUGINS
CONF=$(conf_meta 1.0.0 "$(conf_fake e2e-spawner cluster \
    "\"pidDir\":\"$PIDS\",\"gate\":\"$GATE\",\"leakFile\":\"$LEAK\"")")
run_splitnet ADD "$CONF" &
ADD_JOB=$!
if ! wait_for "the delegate started its child" 60 test -s "$PIDS/plugin"; then
    fail "[spawner] the fake delegate never started"
fi
SPLITNET_PID=$(cat "$PIDS/splitnet")
PLUGIN_PID=$(cat "$PIDS/plugin")
CHILD_PID=$(cat "$PIDS/child")
kill -9 "$SPLITNET_PID"
wait "$ADD_JOB"
check "[spawner] the delegate died with splitnet (parent-death signal)" \
    wait_for "plugin gone" 30 bash -c "! [[ -r /proc/$PLUGIN_PID/stat ]] || awk '{exit \$3 != \"Z\"}' /proc/$PLUGIN_PID/stat"
check "[spawner] its child outlived splitnet (the case DEL must handle)" alive "$CHILD_PID"
run_splitnet DEL "$CONF"
assert_rc "[spawner] DEL after the kill" 0
check_not "[spawner] DEL stopped the delegate's child before returning" alive "$CHILD_PID"
# Let through whatever still waits at the gate: nobody may be there.
check_not "[spawner] nobody waits to finish the ADD's work" \
    python3 -c 'import os, sys; os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)' "$GATE" 2>/dev/null
check_not "[spawner] the work was never finished" test -e "$LEAK"
assert_eq "[spawner] no process of the container left" "" "$(processes_of "$SN_CONTAINERID")"
assert_contains "[spawner] the delegate got its DEL" "$(cat "${E2E_TMP}/spy.log")" "e2e-spawner DEL"
E2E_META_BINDIR=

# --- DEL on a read-only cniDir still calls every delegate ------------------------------------------
SN_CONTAINERID=$(e2e_name ro)
CONF=$(conf_meta 1.0.0 "$(conf_primary)")
run_splitnet ADD "$CONF"
assert_rc "[read-only] ADD" 0
check "[read-only] a lease was taken" test -n "$(host_local_leases "$E2E_IPAM")"
# In a private mount namespace only: the machine's own mounts are never changed.
printf '%s' "$CONF" >"${E2E_TMP}/ro.stdin"
unshare --mount --propagation private bash -c '
    mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" || exit 99
    shift
    exec "$@"' ro "$E2E_STATE" \
    ip netns exec "$NODE_NS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND=DEL \
    CNI_CONTAINERID="$SN_CONTAINERID" CNI_NETNS="$POD_NETNS" CNI_IFNAME=eth0 \
    CNI_PATH="$E2E_CNI_PLUGINS" "$SPLITNET_BINARY" <"${E2E_TMP}/ro.stdin" >"$SN_OUT" 2>"$SN_ERR"
SN_RC=$?
assert_error_code "[read-only] DEL reports that it cannot remove the state" 5
assert_contains "[read-only] the error names the file system" "$(json_value "$SN_OUT" /msg)" \
    "Read-only file system"
assert_eq "[read-only] the delegates were still called: the lease is released" "" \
    "$(host_local_leases "$E2E_IPAM")"
assert_eq "[read-only] and the node veth is gone" "" "$(node_extra_links)"
run_splitnet DEL "$CONF"
assert_rc "[read-only] the next DEL (writable again) succeeds" 0
assert_clean "read-only"

e2e_summary
