#!/usr/bin/env bash
# A real container runtime end to end: Debian's containerd + runc, started by the test
# in a private network and mount namespace (containerd_lib.sh), with splitnet as its CNI plugin.
#
#  1. containerd runs splitnet's own image as the DaemonSet does: `splitnet install --once` with
#     the node's /opt/cni/bin, /etc/cni/net.d and /etc/cni/multus bind-mounted under /host and
#     the host network. The binary and the node config appear (generated from the master
#     config); a second run installs the admin's node config with the VPN network
#     (--multus-conf-file, mounted like a ConfigMap). The image is scripts/image.sh's (branch
#     "image"; until it is merged, the same image written with scripts/oci_image.py directly).
#  2. `ctr run --rm --cni` runs a busybox container (an image built here from busybox-static)
#     whose networking is the installed splitnet with that config: eth0 from ptp + host-local,
#     net1 a native macvlan with the VPN egress policy. Inside the running container the
#     internet (ping, and an HTTP GET with nc: busybox-static 1.35's wget segfaulted in this
#     minimal container) is reached through the gateway only, counted by nft
#     counters at the gateway and at the node end of eth0; the cluster stays on eth0.
#  3. After the container is removed, nothing is left: no netns, veth, macvlan, lease, splitnet
#     state or lock file, libcni cache entry, container or task.
# The host's /etc/cni, /opt/cni, /var/lib/cni, /run/containerd and /var/lib/containerd are never
# used: containerd's mount namespace has the test's dirs there, and nothing of the test lands in
# the host's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
source "$(dirname "$0")/containerd_lib.sh"
e2e_init
missing=$(ctrd_available) || ctrd_skip "needs Debian's containerd and runc: $missing"
[[ -x /bin/busybox ]] || ctrd_skip "needs busybox-static (/bin/busybox)"
e2e_require_plugins ptp host-local

# The host's own runtime dirs. Other software on the machine may write to /etc/cni and friends
# while this runs (podman's package ships /etc/cni/net.d/87-podman-bridge.conflist), so the test
# asserts that its containerd never sees them, and that nothing of its own lands there.
HOST_CNI_DIRS=(/etc/cni /opt/cni /var/lib/cni)
HOST_CTRD_DIRS=(/run/containerd /var/lib/containerd /opt/containerd)
host_ctrd_dirs_present() {
    local d
    for d in "${HOST_CTRD_DIRS[@]}"; do [[ -e $d ]] && echo "$d"; done
    return 0
}
HOST_CTRD_BEFORE=$(host_ctrd_dirs_present)
# ours_on_host: files of this test under the host's CNI and containerd dirs.
ours_on_host() {
    local d
    for d in "${HOST_CNI_DIRS[@]}" "${HOST_CTRD_DIRS[@]}"; do
        [[ -e $d ]] || continue
        find "$d" \( -name '00-splitnet.conf*' -o -name '10-cluster.conflist' -o -name splitnet \
            -o -name "*${E2E_NAME_PREFIX}*" -o -name '*splitnet-cni-network*' \) -print 2>/dev/null
    done
    return 0
}
# shellcheck disable=SC2317  # called through check
# same_dir_in_ctrd PATH DIR: PATH, in containerd's mount namespace, is the test's DIR.
same_dir_in_ctrd() {
    [[ $(nsenter --target "$CTRD_PID" --mount stat -c '%d:%i' "$1") == "$(stat -c '%d:%i' "$2")" ]]
}

egress_topology
ctrd_start "$NODE_NS" || exit 1
pass "containerd runs in the node netns with its own root, state, socket and CNI dirs"
check "its /etc/cni/net.d is the test's dir" same_dir_in_ctrd /etc/cni/net.d "$CTRD_CNI_CONF"
check "its /opt/cni/bin is the test's dir" same_dir_in_ctrd /opt/cni/bin "$CTRD_CNI_BIN"
check "its /var/lib/cni is the test's dir" same_dir_in_ctrd /var/lib/cni "$CTRD_CNI_CACHE"
assert_eq "its /run is a tmpfs of its own" tmpfs "$(nsenter --target "$CTRD_PID" --mount stat -f -c %T /run)"

# The node's /opt/cni/bin holds the reference plugins, as on a real node.
for plugin in "$E2E_CNI_PLUGINS"/*; do ln -s "$plugin" "$CTRD_CNI_BIN/"; done
# The cluster network's config: the master the installer embeds.
MASTER_JSON='{"cniVersion":"1.0.0","name":"cluster","plugins":['"$(conf_ptp_primary)"']}'
printf '%s\n' "$MASTER_JSON" >"$CTRD_CNI_CONF/10-cluster.conflist"

# --- 1. splitnet's image installs splitnet, as the DaemonSet does -------------------------------
SPLITNET_ARCHIVE=$(ctrd_splitnet_image "${CTRD_DIR}/image") || { fail "build splitnet's image"; exit 1; }
SPLITNET_IMAGE=$(ctrd_image_name "$SPLITNET_ARCHIVE")
check "ctr imports splitnet's image" ctrd_ctr image import "$SPLITNET_ARCHIVE" >/dev/null || exit 1
assert_contains "ctr lists it by its tag" "$(ctrd_ctr image ls -q)" "$SPLITNET_IMAGE"

# run_install NAME ARGS...: splitnet's image as the DaemonSet's container: host network, the
# node's dirs under /host (paths in containerd's mount namespace: the node's own).
run_install() {
    local name=$1
    shift
    ctrd_ctr run --rm --net-host --env NODE_NAME=e2e-node \
        --mount type=bind,src=/opt/cni/bin,dst=/host/opt/cni/bin,options=rbind:rw \
        --mount type=bind,src=/etc/cni/net.d,dst=/host/etc/cni/net.d,options=rbind:rw \
        --mount type=bind,src=/etc/cni/multus,dst=/host/etc/cni/multus,options=rbind:rw \
        "$@" </dev/null >"${E2E_TMP}/${name}.log" 2>&1
    SN_RC=$?
    ((SN_RC == 0)) || sed 's/^/#   /' "${E2E_TMP}/${name}.log" >&2
}
# shellcheck disable=SC2054  # the commas are inside one flag's value
INSTALL_ARGS=(--cni-bin-dir=/host/opt/cni/bin --cni-conf-dir=/host/etc/cni/net.d
    --multus-autoconfig-dir=/host/etc/cni/net.d --multus-cni-conf-dir=/host/etc/cni/multus/net.d
    --cluster-cidrs=10.42.0.0/16,10.43.0.0/16)

check_not "before the install, the node has no splitnet" test -e "$CTRD_CNI_BIN/splitnet"
run_install install-auto "$SPLITNET_IMAGE" install-auto /splitnet install --once "${INSTALL_ARGS[@]}"
assert_rc "the image's 'install --once' exits 0" 0
# scripts/image.sh strips the binary: compare with the image's own /splitnet, and make sure that
# one is the build under test.
ctrd_image_file "$SPLITNET_ARCHIVE" /splitnet "${E2E_TMP}/image-splitnet" || exit 1
chmod 0755 "${E2E_TMP}/image-splitnet"
check "the node's /opt/cni/bin/splitnet is the image's /splitnet, byte for byte" \
    cmp -s "${E2E_TMP}/image-splitnet" "$CTRD_CNI_BIN/splitnet"
# is_build_under_test FILE: FILE is SPLITNET_BINARY, or SPLITNET_BINARY stripped.
# shellcheck disable=SC2317  # called through check
is_build_under_test() {
    cmp -s "$1" "$SPLITNET_BINARY" && return 0
    strip --strip-all -o "${E2E_TMP}/stripped-splitnet" "$SPLITNET_BINARY" &&
        cmp -s "$1" "${E2E_TMP}/stripped-splitnet"
}
check "... which is the build under test (stripped or not)" is_build_under_test "${E2E_TMP}/image-splitnet"
assert_eq "... mode 0755" 755 "$(stat -c %a "$CTRD_CNI_BIN/splitnet")"
NODE_CONF=$CTRD_CNI_CONF/00-splitnet.conflist
assert_pred "the node config appears in /etc/cni/net.d, a splitnet plugin ..." \
    value-is "$NODE_CONF" /plugins/0/type '"splitnet"'
assert_pred "... with the master as its only delegate ..." value-is "$NODE_CONF" /plugins/0/delegates "[$MASTER_JSON]"
assert_pred "... and the cluster CIDRs" \
    value-is "$NODE_CONF" /plugins/0/clusterCIDRs '["10.42.0.0/16", "10.43.0.0/16"]'
check "the confDir for NAD files exists on the node" test -d "$CTRD_CNI_MULTUS/net.d"
assert_eq "the install container is gone" "" "$(ctrd_ctr container ls -q)"

# The admin's node config: the cluster network on eth0 and the VPN as splitnet's native macvlan
# with the egress policy on net1. Without an API server, ctr run --cni passes no pod, so the
# pod's networks are the config's delegates.
EGRESS='{"keep":["cluster"],"ipv6":"block","probeGateway":"require"}'
mkdir -p "${CTRD_DIR}/node-config"
printf '%s\n' '{"cniVersion":"1.0.0","name":"splitnet-cni-network","plugins":[{"type":"splitnet",
 "cniDir":"'"${E2E_STATE}"'","logLevel":"debug","clusterCIDRs":["10.42.0.0/16","10.43.0.0/16"],
 "delegates":['"$(conf_ptp_primary)"','"$(conf_vpn_egress 192.168.99.99/24 "$EGRESS")"']}]}' \
    >"${CTRD_DIR}/node-config/00-splitnet.conflist"
run_install install-conf --mount "type=bind,src=${CTRD_DIR}/node-config,dst=/config,options=rbind:ro" \
    "$SPLITNET_IMAGE" install-conf /splitnet install --once "${INSTALL_ARGS[@]}" \
    --multus-conf-file=/config/00-splitnet.conflist
assert_rc "the image installs the admin's node config (--multus-conf-file)" 0
check "... which is now the node config" cmp -s "${CTRD_DIR}/node-config/00-splitnet.conflist" "$NODE_CONF"

# --- 2. a container whose networking is splitnet's ----------------------------------------------
# An HTTP server on the "internet" address.
mkdir -p "${E2E_TMP}/www"
TOKEN=splitnet-e2e-$RANDOM$RANDOM
printf '%s' "$TOKEN" >"${E2E_TMP}/www/token"
ns_exec "$INET_NS" python3 -m http.server --bind "$INET4" --directory "${E2E_TMP}/www" 8080 \
    >"${E2E_TMP}/http.log" 2>&1 &
HTTP_PID=$!
e2e_on_exit "kill $HTTP_PID"
# shellcheck disable=SC2317  # called through wait_for
http_listening() {
    ns_exec "$INET_NS" python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 8080), 1)' \
        "$INET4" 2>/dev/null
}
check "the internet's HTTP server listens" wait_for "http server" 60 http_listening || exit 1

BUSYBOX_ARCHIVE=${CTRD_DIR}/busybox.tar
ctrd_busybox_image "$BUSYBOX_ARCHIVE" splitnet-e2e/busybox:e2e || { fail "build the busybox image"; exit 1; }
BUSYBOX_IMAGE=$(ctrd_image_name "$BUSYBOX_ARCHIVE")
check "ctr imports the busybox image" ctrd_ctr image import "$BUSYBOX_ARCHIVE" >/dev/null || exit 1

# The container probes, reports into /x (a dir of the test) and waits until the test has looked
# at the running pod (bounded: it exits by itself after ~5 minutes).
XDIR=${E2E_TMP}/x
mkdir -p "$XDIR"
# shellcheck disable=SC2016  # expanded by the container's shell
POD_SCRIPT='
ping -c1 -W5 '"$INET4"' >/x/ping.out 2>&1; echo $? >/x/ping.rc
printf "GET /token HTTP/1.0\r\nHost: '"$INET4"'\r\n\r\n" | nc -w 20 '"$INET4"' 8080 >/x/http.out 2>/x/http.err
echo $? >/x/http.rc
ping -c1 -W5 '"$SERVICE"' >/x/service.out 2>&1; echo $? >/x/service.rc
touch /x/ready
i=0
while [ ! -e /x/release ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
exit 0'
POD_ID=$(e2e_name pod1)
reset_counters
ctrd_ctr run --rm --cni --mount "type=bind,src=${XDIR},dst=/x,options=rbind:rw" \
    "$BUSYBOX_IMAGE" "$POD_ID" sh -c "$POD_SCRIPT" </dev/null >"${E2E_TMP}/pod1.log" 2>&1 &
POD_RUN_PID=$!
e2e_on_exit "touch ${XDIR}/release"
# shellcheck disable=SC2317  # called through wait_for
pod_run_exited() { ! kill -0 "$POD_RUN_PID" 2>/dev/null; }
# shellcheck disable=SC2317  # called through wait_for
pod_ready() { [[ -e $XDIR/ready ]] || pod_run_exited; }
wait_for "the container ran its probes" 120 pod_ready
if ! check "the container runs with splitnet's networking and reports" test -e "$XDIR/ready"; then
    sed 's/^/#   /' "${E2E_TMP}/pod1.log" >&2
    exit 1
fi

TASK_PID=$(ctrd_ctr task ls | awk -v id="$POD_ID" '$1 == id {print $2}')
check "the task is running" test -n "$TASK_PID" -a -e "/proc/${TASK_PID}/ns/net" || exit 1
POD_NETNS_PATH=/proc/${TASK_PID}/ns/net
POD_NETNS_ID=$(readlink "$POD_NETNS_PATH")
in_pod() { nsenter --net="$POD_NETNS_PATH" "$@"; }

assert_eq "the container has lo, eth0 and net1" "eth0 lo net1" \
    "$(in_pod ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"
in_pod ip -d -j link show net1 >"${E2E_TMP}/net1.json"
assert_pred "net1 is a macvlan" value-is "${E2E_TMP}/net1.json" /0/linkinfo/info_kind '"macvlan"'
assert_contains "net1 has the VPN address" "$(in_pod ip -4 -o addr show dev net1)" "192.168.99.99/24"
assert_contains "eth0 has a host-local address of the cluster network" \
    "$(in_pod ip -4 -o addr show dev eth0)" "10.42.0."
assert_eq "the default route is not via eth0" "" "$(in_pod ip route show default dev eth0)"
check "the egress policy's routes are installed (proto 83)" \
    test -n "$(in_pod ip route show table all proto 83)"

assert_eq "inside the container: ping $INET4 succeeds" 0 "$(cat "$XDIR/ping.rc")"
assert_eq "inside the container: an HTTP GET of http://$INET4:8080/token succeeds" 0 "$(cat "$XDIR/http.rc")"
assert_contains "... and returns the server's token" "$(cat "$XDIR/http.out" 2>/dev/null)" "$TOKEN"
assert_eq "inside the container: the service $SERVICE answers" 0 "$(cat "$XDIR/service.rc")"
check "the gateway counted the container's packets to the internet" \
    wait_for "gateway counter" 30 counter_at_least "$GW_NS" "gw_${INET4//./_}" 2
check "the internet saw them from the gateway's address (source NAT)" counter_at_least "$INET_NS" natted 2
assert_eq "the internet never saw the container's own address" 0 "$(counter "$INET_NS" raw)"
assert_eq "the node end of eth0 saw zero packets to the internet" 0 "$(counter "$NODE_NS" leak4)"
check "the service went via eth0 (the node end counted it)" \
    counter_at_least "$NODE_NS" "node_${SERVICE//./_}" 1
assert_eq "... and not via the gateway" 0 "$(counter "$GW_NS" "gw_${SERVICE//./_}")"

# What the removal must take away exists now.
check "while it runs: the ptp veth on the node" node_links_have_veth
assert_eq "while it runs: host-local leases (IPv4 and IPv6)" 2 "$(host_local_leases "$E2E_IPAM" | wc -l)"
check "while it runs: splitnet's state" test -n "$(find "$E2E_STATE" -type f 2>/dev/null)"
check "while it runs: libcni's cached result" test -n "$(find "$CTRD_CNI_CACHE" -type f 2>/dev/null)"
check "while it runs: a process holds the container's netns" netns_referenced "$POD_NETNS_ID"

# --- 3. the container is removed: nothing is left -----------------------------------------------
touch "$XDIR/release"
check "ctr run --rm returns once the container exits" wait_for "ctr run exits" 120 pod_run_exited
wait "$POD_RUN_PID"
POD_RUN_RC=$?
assert_eq "... with the container's status, 0" 0 "$POD_RUN_RC"
# ctr only logs a failed CNI DEL ("network review"); its exit status is the container's.
if ! check_not "ctr logged no error (CNI DEL succeeded)" grep -q 'level=error' "${E2E_TMP}/pod1.log"; then
    sed 's/^/#   /' "${E2E_TMP}/pod1.log" >&2
fi
assert_eq "no container left" "" "$(ctrd_ctr container ls -q)"
assert_eq "no task left" "" "$(ctrd_ctr task ls -q)"
check_not "no netns left: nothing holds the container's netns" netns_referenced "$POD_NETNS_ID"
check_not "no veth left on the node" node_links_have_veth
assert_eq "no macvlan left on the node" "" "$(ip -n "$NODE_NS" -o link show type macvlan)"
assert_eq "no host-local lease left" "" "$(host_local_leases "$E2E_IPAM")"
# outcomes.log is the node agent's feed of verb results (docs/observability.md), not state.
assert_eq "no splitnet state or lock file left" "" "$(find "$E2E_STATE" -type f ! -name outcomes.log 2>/dev/null)"
assert_eq "no libcni cache entry left" "" "$(find "$CTRD_CNI_CACHE" -type f 2>/dev/null)"
ctrd_stop
assert_eq "containerd stopped: no cgroup of its namespace left" "" "$(ctrd_cgroups)"
assert_eq "nothing of the test landed in the host's CNI and containerd dirs" "" "$(ours_on_host)"
assert_eq "the host's containerd dirs were not created" "$HOST_CTRD_BEFORE" "$(host_ctrd_dirs_present)"

e2e_summary
