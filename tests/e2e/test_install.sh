#!/usr/bin/env bash
# `splitnet install` on a scratch "node" (temp dirs standing for /opt/cni/bin, /etc/cni/net.d and
# the service-account mount; no namespaces, no network): the one-shot install (binary identical,
# 0755; node config and kubeconfig 0600; nothing rewritten when nothing changed), its refusals (no
# master, a broken master: exit 1, nothing written), the temp files of its own writes killed
# half-way removed (and no other), and the watch loop: a changed master config, one that turns
# invalid and is fixed, a rotated token, Cilium renaming the config (cni.exclusive) and SIGTERM
# with --cleanup-config-on-exit; `splitnet uninstall` (everything install wrote goes, the master
# config stays, idempotent). The plugin running the generated config is in test_libcni.sh.
source "$(dirname "$0")/lib.sh"
e2e_init

NODE=${E2E_TMP}/node
BIN=${NODE}/opt/cni/bin
NETD=${NODE}/etc/cni/net.d
SA=${E2E_TMP}/serviceaccount
LOG=${E2E_TMP}/install.log
mkdir -p "$NETD" "$SA"
printf 'token-one' >"$SA/token"
printf -- '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' >"$SA/ca.crt"
MASTER_JSON='{"cniVersion":"1.0.0","name":"cilium","plugins":[{"type":"cilium-cni","capabilities":{"portMappings":true}}]}'
printf '%s\n' "$MASTER_JSON" >"$NETD/05-cilium.conflist"

# run_install ARGS...: splitnet install for the scratch node, in-cluster env set; sets SN_RC.
run_install() {
    KUBERNETES_SERVICE_HOST=10.43.0.1 KUBERNETES_SERVICE_PORT=443 "$SPLITNET_BINARY" install \
        --cni-bin-dir="$BIN" --cni-conf-dir="$NETD" --multus-autoconfig-dir="$NETD" \
        --multus-cni-conf-dir="${NODE}/etc/cni/multus/net.d" --service-account-dir="$SA" \
        "$@" >"${E2E_TMP}/install.out" 2>"$LOG"
    SN_RC=$?
}
mode_of() { stat -c %a "$1"; }
inode_of() { stat -c %i "$1"; }

# --- one-shot install --------------------------------------------------------------------------
run_install --once --cluster-cidrs=10.42.0.0/16,10.43.0.0/16
assert_rc "--once installs" 0
assert_eq "nothing on stdout" "" "$(cat "${E2E_TMP}/install.out")"
check "the binary is the running one, byte for byte" cmp -s "$SPLITNET_BINARY" "$BIN/splitnet"
assert_eq "the binary is 0755" 755 "$(mode_of "$BIN/splitnet")"
check "the installed binary answers VERSION" \
    bash -c "CNI_COMMAND=VERSION '$BIN/splitnet' </dev/null | grep -q 1.1.0"
CONF=${NETD}/00-splitnet.conflist
assert_eq "the node config is 0600 (it names the kubeconfig)" 600 "$(mode_of "$CONF")"
assert_pred "it embeds the master as the only delegate" value-is "$CONF" /plugins/0/delegates "[$MASTER_JSON]"
assert_pred "it is a conflist of cniVersion 1.0.0 ..." value-is "$CONF" /cniVersion '"1.0.0"'
assert_pred "... of a splitnet plugin ..." value-is "$CONF" /plugins/0/type '"splitnet"'
assert_pred "... with the master's capabilities ..." value-is "$CONF" /plugins/0/capabilities '{"portMappings": true}'
assert_pred "... and the cluster CIDRs" \
    value-is "$CONF" /plugins/0/clusterCIDRs '["10.42.0.0/16", "10.43.0.0/16"]'
assert_pred "... and points the plugin at the kubeconfig's host path" \
    value-is "$CONF" /plugins/0/kubeconfig '"/etc/cni/net.d/splitnet.d/splitnet.kubeconfig"'
KUBECONFIG_FILE=${NETD}/splitnet.d/splitnet.kubeconfig
assert_eq "the kubeconfig is 0600" 600 "$(mode_of "$KUBECONFIG_FILE")"
assert_contains "the kubeconfig carries the token" "$(cat "$KUBECONFIG_FILE")" 'token: "token-one"'
assert_contains "... and the service address" "$(cat "$KUBECONFIG_FILE")" 'server: "https://10.43.0.1:443"'
check "the confDir for NAD files exists" test -d "${NODE}/etc/cni/multus/net.d"
assert_eq "no temporary file is left" "" "$(find "$NODE" -name '.*tmp*')"

conf_inode=$(inode_of "$CONF")
kube_inode=$(inode_of "$KUBECONFIG_FILE")
# What writes killed half-way leave (temp name: .<name>.tmp.XXXXXX), beside names not install's.
touch "$BIN/.splitnet.tmp.Ab12Cd" "$NETD/.00-splitnet.conflist.tmp.Ef34Gh" \
    "$NETD/splitnet.d/.splitnet.kubeconfig.tmp.Ij56Kl" "$NETD/.05-cilium.conflist.tmp.Mn78Op" \
    "$BIN/.splitnet.tmp.Qr90StU"
run_install --once --skip-multus-binary-copy --cluster-cidrs=10.42.0.0/16,10.43.0.0/16
assert_rc "a second run succeeds" 0
assert_eq "an unchanged config is not rewritten" "$conf_inode" "$(inode_of "$CONF")"
assert_eq "an unchanged kubeconfig is not rewritten" "$kube_inode" "$(inode_of "$KUBECONFIG_FILE")"
assert_eq "the temp files of install's own killed writes are gone, no other file" \
    "$NODE/etc/cni/net.d/.05-cilium.conflist.tmp.Mn78Op $NODE/opt/cni/bin/.splitnet.tmp.Qr90StU" \
    "$(find "$NODE" -name '.*tmp*' | sort | tr '\n' ' ' | sed 's/ $//')"
rm -f "$NETD/.05-cilium.conflist.tmp.Mn78Op" "$BIN/.splitnet.tmp.Qr90StU"

# --- refusals ----------------------------------------------------------------------------------
mv "$NETD/05-cilium.conflist" "${E2E_TMP}/master.saved"
rm -f "$CONF"
run_install --once --skip-multus-binary-copy
assert_rc "no master config: refused" 1
assert_contains "... saying what to install first" "$(cat "$LOG")" "no master CNI config in ${NETD}"
printf '{"cniVersion":"1.0.0","name":"broken",' >"$NETD/05-cilium.conflist"
run_install --once --skip-multus-binary-copy
assert_rc "a broken master: refused" 1
assert_contains "... naming the file" "$(cat "$LOG")" "master config ${NETD}/05-cilium.conflist is not valid JSON"
check_not "... and no node config was written" test -e "$CONF"
run_install --once --bogus-flag
assert_rc "an unknown flag: refused (usage error, exit 2)" 2
assert_contains "... naming it" "$(cat "$LOG")" "--bogus-flag: unknown flag"
mv "${E2E_TMP}/master.saved" "$NETD/05-cilium.conflist"

# --- the watch loop ----------------------------------------------------------------------------
KUBERNETES_SERVICE_HOST=10.43.0.1 KUBERNETES_SERVICE_PORT=443 "$SPLITNET_BINARY" install \
    --cni-bin-dir="$BIN" --cni-conf-dir="$NETD" --multus-autoconfig-dir="$NETD" \
    --multus-cni-conf-dir="${NODE}/etc/cni/multus/net.d" --service-account-dir="$SA" \
    --skip-multus-binary-copy --cleanup-config-on-exit --watch-interval-ms=50 \
    >"${E2E_TMP}/watch.out" 2>"${E2E_TMP}/watch.log" &
WATCH_PID=$!
e2e_on_exit "kill $WATCH_PID 2>/dev/null"

# shellcheck disable=SC2317  # called through wait_for
conf_has() { [[ -f $1 ]] && grep -q -- "$2" "$1"; }

# set_master TEXT: replaces the master config atomically (written beside it under a name the
# watcher ignores, then renamed): a plain `>` lets the 50 ms poll read a truncated file, log a
# spurious "not valid JSON" and break the "reported once" count below.
set_master() {
    printf '%s\n' "$1" >"$NETD/.master.tmp" && mv "$NETD/.master.tmp" "$NETD/05-cilium.conflist"
}

check "the watcher writes the config" wait_for "config" 30 conf_has "$CONF" cilium-cni

# A master that moves to 0.4.0: a flat .conf replaces the .conflist (which would sort after it).
set_master '{"cniVersion":"0.4.0","name":"cilium","type":"cilium-cni"}'
check "a changed master is picked up (now a .conf)" \
    wait_for "conf" 30 conf_has "${NETD}/00-splitnet.conf" '"cniVersion": "0.4.0"'
check "... and the stale .conflist is gone" wait_for "no conflist" 30 test ! -e "$CONF"

# A master that turns invalid: reported once (not every interval), the config written last
# stays, and the token is still kept current meanwhile.
set_master '{"cniVersion":'
check "an invalid master is reported" \
    wait_for "error" 30 grep -q "is not valid JSON" "${E2E_TMP}/watch.log"
printf 'token-two' >"$SA/token.new" && mv "$SA/token.new" "$SA/token"
check "a rotated token reaches the kubeconfig" \
    wait_for "token" 30 conf_has "$KUBECONFIG_FILE" 'token: "token-two"'
assert_eq "the invalid master was reported once" 1 "$(grep -c "is not valid JSON" "${E2E_TMP}/watch.log")"
check "the config written last stays" conf_has "${NETD}/00-splitnet.conf" '"cniVersion": "0.4.0"'
set_master '{"cniVersion":"0.4.0","name":"cilium","type":"cilium-cni","mtu":1400}'
check "a fixed master is picked up" wait_for "fixed" 30 conf_has "${NETD}/00-splitnet.conf" '"mtu": 1400'

# Cilium with cni.exclusive=true renames every foreign config to *.cilium_bak.
mv "${NETD}/00-splitnet.conf" "${NETD}/00-splitnet.conf.cilium_bak"
check "a config renamed away comes back" wait_for "back" 30 test -e "${NETD}/00-splitnet.conf"
assert_contains "... and the log says to set cni.exclusive=false" "$(cat "${E2E_TMP}/watch.log")" \
    "set cni.exclusive=false"

kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
assert_eq "SIGTERM: the watcher exits 0" 0 "$?"
check_not "--cleanup-config-on-exit removed the config" test -e "${NETD}/00-splitnet.conf"
check "... and kept the kubeconfig (pods being torn down still need it)" test -e "$KUBECONFIG_FILE"
assert_eq "the watcher printed nothing on stdout" "" "$(cat "${E2E_TMP}/watch.out")"

# --- uninstall ---------------------------------------------------------------------------------
run_install --once
assert_rc "install again before uninstalling" 0
# run_uninstall ARGS...: splitnet uninstall with the scratch node's directory flags; sets SN_RC.
run_uninstall() {
    "$SPLITNET_BINARY" uninstall --cni-bin-dir="$BIN" --cni-conf-dir="$NETD" \
        --multus-autoconfig-dir="$NETD" --multus-cni-conf-dir="${NODE}/etc/cni/multus/net.d" \
        "$@" >"${E2E_TMP}/uninstall.out" 2>"${E2E_TMP}/uninstall.log"
    SN_RC=$?
}
master_before=$(cat "$NETD/05-cilium.conflist")
touch "$BIN/.splitnet.tmp.Ab12Cd" "$NETD/.00-splitnet.conf.tmp.Ef34Gh" \
    "$NETD/splitnet.d/.splitnet.kubeconfig.tmp.Ij56Kl"
run_uninstall
assert_rc "uninstall" 0
check_not "the binary is gone" test -e "$BIN/splitnet"
assert_eq "... and so are the temp files of killed writes: the bin dir is empty" "" "$(ls -A "$BIN")"
check_not "the node config is gone" test -e "${NETD}/00-splitnet.conf"
check_not "... (either spelling)" test -e "$CONF"
check_not "the kubeconfig is gone" test -e "$KUBECONFIG_FILE"
check_not "... and its directory" test -e "${NETD}/splitnet.d"
assert_eq "the master config is untouched" "$master_before" "$(cat "$NETD/05-cilium.conflist")"
assert_eq "nothing else is left in the conf dir (Cilium's .cilium_bak copy of ours included)" \
    "05-cilium.conflist" "$(ls -A "$NETD")"
run_uninstall
assert_rc "uninstall again (idempotent)" 0
run_install --once
mkdir -p "${NETD}/splitnet.d" && printf 'x' >"${NETD}/splitnet.d/admin-notes"
run_uninstall
assert_rc "uninstall with a foreign file in splitnet.d" 0
check "... keeps that file" test -e "${NETD}/splitnet.d/admin-notes"
check_not "... but removes the kubeconfig" test -e "$KUBECONFIG_FILE"
run_uninstall --bogus
assert_rc "uninstall with an unknown flag: usage error" 2
"$SPLITNET_BINARY" uninstall --help >/dev/null 2>"${E2E_TMP}/uninstall.help"
help_rc=$?
assert_eq "uninstall --help exits 0" 0 "$help_rc"
assert_contains "... and explains it" "$(cat "${E2E_TMP}/uninstall.help")" "usage: splitnet uninstall"

e2e_summary
