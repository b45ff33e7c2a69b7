# shellcheck shell=bash
# shellcheck disable=SC2034  # E2E_SUMMARY_DONE is read by lib.sh
# A private containerd for the e2e suites: Debian's containerd + runc, started by the test and
# killed by it, never the system's service and never the system's state. Source after lib.sh and
# e2e_init.
#
# containerd (and every `ctr`) runs inside a network namespace of the test and a private mount
# namespace in which:
#   /run                 is a fresh tmpfs (containerd 1.6 hard-codes /run/containerd/s for shim
#                        sockets, ctr /run/containerd/fifo, the runc shim /run/containerd/runc);
#   /etc, /opt, /var/lib are overlays whose writes land in a tmpfs of that namespace, so the
#                        mount points below can be made without touching the host;
#   /etc/cni/net.d       CTRD_CNI_CONF (ctr run --cni reads only this dir ...)
#   /etc/cni/multus      CTRD_CNI_MULTUS (the DaemonSet mounts it for NAD files)
#   /opt/cni/bin         CTRD_CNI_BIN  (... and this one)
#   /var/lib/cni         CTRD_CNI_CACHE (libcni's result cache, host-local's default dataDir)
#   /var/lib/containerd, /opt/containerd: empty dirs of the test (the config points elsewhere).
# The host's dirs of those names are never written and, where they exist, never read. The CTRD_*
# dirs live in the test's temp dir, so the test reads what the runtime left behind from outside.
# containerd's root, state, socket and config are in CTRD_DIR too; the CRI plugin is disabled.
#
# The mount namespace is entered with `nsenter --net=... unshare --mount`, not `ip netns exec`:
# that one remounts /sys and hides the cgroup hierarchy runc needs.

CTRD_DIR=
CTRD_SNAPSHOTTER=${CTRD_SNAPSHOTTER:-}
CTRD_NAMESPACE=
CTRD_PID=

# ctrd_available: containerd, ctr and runc are installed (else the suite skips).
ctrd_available() {
    local tool
    for tool in containerd ctr runc containerd-shim-runc-v2 nsenter unshare; do
        command -v "$tool" >/dev/null || { echo "missing $tool"; return 1; }
    done
}

# ctrd_skip REASON: the suite is skipped (ctest: exit 77), before anything was created.
ctrd_skip() {
    echo "SKIPPED: $1 (scripts/install-deps.sh installs it)"
    E2E_SUMMARY_DONE=1
    exit "$E2E_SKIP_CODE"
}

# ctrd_write_config: containerd's config.toml, everything under CTRD_DIR.
ctrd_write_config() {
    cat >"${CTRD_DIR}/config.toml" <<EOF
version = 2
root = "${CTRD_DIR}/root"
state = "${CTRD_DIR}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${CTRD_SOCKET}"

[ttrpc]
  address = "${CTRD_SOCKET}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${CTRD_DIR}/opt"
EOF
}

# ctrd_write_mount_setup: the script that prepares the private mount namespace (see the top of
# this file) and then becomes containerd.
ctrd_write_mount_setup() {
    cat >"${CTRD_DIR}/enter.sh" <<'EOF'
#!/bin/sh
# $1 = CTRD_DIR. Runs as the first process of a private mount namespace (unshare --mount, whose
# propagation is private: nothing here is seen by the host).
set -eu
d=$1
mount -t tmpfs -o mode=0755 ctrd-run /run
mkdir -p "$d/overlay"
mount -t tmpfs -o mode=0755 ctrd-overlay "$d/overlay"
for dir in etc opt var/lib; do
    key=$(echo "$dir" | tr / -)
    mkdir -p "$d/overlay/$key/upper" "$d/overlay/$key/work"
    mount -t overlay ctrd-"$key" \
        -o "lowerdir=/$dir,upperdir=$d/overlay/$key/upper,workdir=$d/overlay/$key/work" "/$dir"
done
mkdir -p /etc/cni/net.d /etc/cni/multus /opt/cni/bin /var/lib/cni /var/lib/containerd \
    /opt/containerd /run/containerd
mount --bind "$d/cni-conf" /etc/cni/net.d
mount --bind "$d/cni-multus" /etc/cni/multus
mount --bind "$d/cni-bin" /opt/cni/bin
mount --bind "$d/cni-cache" /var/lib/cni
mount --bind "$d/empty" /var/lib/containerd
mount --bind "$d/empty" /opt/containerd
exec containerd --config "$d/config.toml" --log-level info
EOF
    chmod 0755 "${CTRD_DIR}/enter.sh"
}

# ctrd_start NETNS: starts containerd in the named netns and a private mount namespace; waits
# (bounded) until it answers. Sets CTRD_DIR, CTRD_SOCKET, CTRD_CNI_CONF, CTRD_CNI_BIN,
# CTRD_CNI_CACHE, CTRD_CNI_MULTUS, CTRD_PID and registers ctrd_stop for exit.
ctrd_start() {
    e2e_tmpdir CTRD_DIR
    # The containerd namespace names the containers' parent cgroup (/<namespace>/<id>): unique,
    # so that suites running at once never share it and ctrd_stop may remove it.
    CTRD_NAMESPACE=$(e2e_name ctrd)
    CTRD_SOCKET=${CTRD_DIR}/containerd.sock
    CTRD_CNI_CONF=${CTRD_DIR}/cni-conf
    CTRD_CNI_BIN=${CTRD_DIR}/cni-bin
    CTRD_CNI_CACHE=${CTRD_DIR}/cni-cache
    CTRD_CNI_MULTUS=${CTRD_DIR}/cni-multus
    mkdir -p "$CTRD_CNI_CONF" "$CTRD_CNI_BIN" "$CTRD_CNI_CACHE" "$CTRD_CNI_MULTUS" "${CTRD_DIR}/empty"
    # overlayfs cannot have its upper dir on overlayfs (a CI job in a container): then the
    # native snapshotter (full copies; the images here are a few MB).
    if [[ -z ${CTRD_SNAPSHOTTER:-} ]]; then
        CTRD_SNAPSHOTTER=overlayfs
        [[ $(stat -f -c %T "$CTRD_DIR") == overlayfs ]] && CTRD_SNAPSHOTTER=native
    fi
    ctrd_write_config
    ctrd_write_mount_setup
    # nsenter and unshare exec (no fork), so $! is containerd's pid.
    nsenter --net="/var/run/netns/$1" unshare --mount --propagation private \
        "${CTRD_DIR}/enter.sh" "$CTRD_DIR" >"${CTRD_DIR}/containerd.log" 2>&1 &
    CTRD_PID=$!
    e2e_on_exit ctrd_stop
    if ! wait_for "containerd answers" 60 ctrd_ready; then
        e2e_log "containerd did not come up; its log:"
        sed 's/^/#   /' "${CTRD_DIR}/containerd.log" >&2
        return 1
    fi
}

ctrd_ready() {
    kill -0 "$CTRD_PID" 2>/dev/null || return 1
    # The mount namespace must be containerd's own (not yet the host's) before ctr enters it.
    [[ $(readlink "/proc/${CTRD_PID}/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] || return 1
    ctrd_ctr version >/dev/null 2>&1
}

# ctrd_ctr ARGS...: ctr against our containerd, inside its network and mount namespaces, with
# the snapshotter ctrd_start chose.
ctrd_ctr() {
    CONTAINERD_SNAPSHOTTER=$CTRD_SNAPSHOTTER nsenter --target "$CTRD_PID" --mount --net \
        ctr --address "$CTRD_SOCKET" --namespace "$CTRD_NAMESPACE" "$@"
}

# ctrd_mount_ns_pids: every process in containerd's mount namespace (containerd, its shims):
# what ctrd_stop may kill. Containers have mount namespaces of their own.
ctrd_mount_ns_pids() {
    local mnt p
    mnt=$(readlink "/proc/${CTRD_PID}/ns/mnt" 2>/dev/null) || return 0
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$mnt" ]] && echo "${p#/proc/}"
    done
    return 0
}

# ctrd_stop: kills what is still running (tasks first, then containerd and its shims) and waits
# for containerd to exit. Idempotent.
ctrd_stop() {
    [[ -n $CTRD_PID ]] || return 0
    local task pids
    if kill -0 "$CTRD_PID" 2>/dev/null; then
        for task in $(ctrd_ctr task ls -q 2>/dev/null); do
            ctrd_ctr task kill -s SIGKILL "$task" >/dev/null 2>&1 || true
            wait_for "task $task stopped" 30 ctrd_task_stopped "$task" || true
            ctrd_ctr task delete -f "$task" >/dev/null 2>&1 || true
        done
        pids=$(ctrd_mount_ns_pids)
        # shellcheck disable=SC2086  # a list of pids
        [[ -n $pids ]] && kill -TERM $pids 2>/dev/null
        wait_for "containerd exited" 30 ctrd_exited || kill -KILL "$CTRD_PID" 2>/dev/null
        pids=$(ctrd_mount_ns_pids)
        # shellcheck disable=SC2086
        [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
    fi
    wait "$CTRD_PID" 2>/dev/null
    CTRD_PID=
    ctrd_remove_cgroups
    return 0
}

# ctrd_cgroups: the parent cgroups runc made for our containerd namespace (runc removes each
# container's own cgroup, not the parent).
ctrd_cgroups() {
    local d
    for d in /sys/fs/cgroup/"$CTRD_NAMESPACE" /sys/fs/cgroup/*/"$CTRD_NAMESPACE"; do
        [[ -d $d ]] && echo "$d"
    done
    return 0
}

ctrd_remove_cgroups() {
    local d
    [[ -n $CTRD_NAMESPACE ]] || return 0
    for d in $(ctrd_cgroups); do
        rmdir "$d" 2>/dev/null || e2e_log "cgroup $d is not empty: left in place"
    done
    return 0
}

ctrd_exited() { ! kill -0 "$CTRD_PID" 2>/dev/null; }

ctrd_task_stopped() {
    local status
    status=$(ctrd_ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}')
    [[ -z $status || $status == STOPPED ]]
}

# ctrd_busybox_image OUT TAG: an image archive from Debian's busybox-static: /bin/busybox and
# the applets the tests use, as symlinks.
ctrd_busybox_image() {
    local rootfs=${CTRD_DIR}/busybox-rootfs applet
    mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in sh ping ip cat ls echo nc sleep true; do
        ln -s busybox "$rootfs/bin/$applet"
    done
    python3 "${E2E_SOURCE_DIR}/scripts/oci_image.py" --rootfs "$rootfs" --arch amd64 \
        --tag "$2" --cmd '["sh"]' --out "$1"
}

# ctrd_image_name ARCHIVE: the name `ctr image import` gives the image of ARCHIVE (index.json's
# io.containerd.image.name annotation).
ctrd_image_name() {
    python3 - "$1" <<'PY'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    index = json.load(t.extractfile("index.json"))
print(index["manifests"][0]["annotations"]["io.containerd.image.name"])
PY
}

# ctrd_splitnet_image OUT_DIR: splitnet's own image (amd64) from SPLITNET_BINARY; prints the
# archive's path. scripts/image.sh when the tree has it, else the image it builds: the binary
# alone, entrypoint /splitnet. A dynamically linked binary (the sanitizer
# build) gets its shared libraries next to it, at their paths, so it runs in the image too.
ctrd_splitnet_image() {
    local static=1 lib
    [[ $(file -L "$SPLITNET_BINARY") == *"statically linked"* ||
        $(file -L "$SPLITNET_BINARY") == *"static-pie linked"* ]] || static=0
    if ((static)) && [[ -x ${E2E_SOURCE_DIR}/scripts/image.sh ]]; then
        "${E2E_SOURCE_DIR}/scripts/image.sh" --arch amd64 --binary "$SPLITNET_BINARY" --out "$1" >&2 \
            || return 1
        printf '%s' "$1/splitnet-amd64.tar"
        return 0
    fi
    mkdir -p "$1/rootfs"
    cp "$SPLITNET_BINARY" "$1/rootfs/splitnet"
    chmod 0755 "$1/rootfs/splitnet"
    if ((!static)); then
        e2e_log "$SPLITNET_BINARY is dynamically linked: its libraries go into the test image"
        for lib in $(ldd "$SPLITNET_BINARY" | grep -o '/[^ ]*'); do
            cp -L --parents "$lib" "$1/rootfs/" || return 1
        done
    fi
    python3 "${E2E_SOURCE_DIR}/scripts/oci_image.py" --rootfs "$1/rootfs" --arch amd64 \
        --tag splitnet:e2e --entrypoint '["/splitnet"]' --cmd '["install", "--help"]' \
        --out "$1/splitnet-amd64.tar" || return 1
    printf '%s' "$1/splitnet-amd64.tar"
}

# netns_referenced ID: something still holds the network namespace ID ("net:[inode]", from
# readlink /proc/PID/ns/net): a process in it, an open fd or a bind mount (nsfs) in any mount
# namespace. These are all a namespace lives on by.
netns_referenced() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/net" 2>/dev/null) == "$1" ]] && return 0
    done
    # shellcheck disable=SC2012  # fd links, not file names
    find /proc/[0-9]*/fd -maxdepth 1 -lname "$1" 2>/dev/null | grep -q . && return 0
    cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -qF " $1 " && return 0
    return 1
}

# node_links_have_veth: a veth (ptp's host end) exists in NODE_NS.
node_links_have_veth() { node_links | grep -q '^veth'; }

# ctrd_image_file ARCHIVE PATH OUT: copies file PATH (e.g. /splitnet) out of the image archive's
# layers (single-platform archives as scripts/oci_image.py writes them) to OUT.
ctrd_image_file() {
    python3 - "$1" "$2" "$3" <<'PY'
import gzip, io, json, sys, tarfile
archive, wanted, out = sys.argv[1], sys.argv[2].lstrip("/"), sys.argv[3]
with tarfile.open(archive) as t:
    blob = lambda d: t.extractfile("blobs/sha256/" + d.split(":", 1)[1]).read()
    index = json.load(t.extractfile("index.json"))
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    found = None
    for layer in manifest["layers"]:
        data = blob(layer["digest"])
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as lt:
            for m in lt.getmembers():
                if m.name.lstrip("./") == wanted and m.isfile():
                    found = lt.extractfile(m).read()
if found is None:
    sys.exit(f"{wanted} not in {archive}")
with open(out, "wb") as f:
    f.write(found)
PY
}
