#!/usr/bin/env bash
# The README's demo (demo/demo.sh) through the built binary: it must exit 0 with every claim
# held, tell the whole story (sections 1-5), and leave no namespace behind. A demo whose plugin
# fails must exit non-zero and still clean up.
source "$(dirname "$0")/lib.sh"
e2e_init

DEMO=${E2E_SOURCE_DIR}/demo/demo.sh
OUT=${E2E_TMP}/demo.out

# run_demo PREFIX BINARY: runs the demo with its namespaces named PREFIX-*; sets DEMO_RC.
run_demo() {
    local started=$SECONDS
    DEMO_NAME_PREFIX=$1 SPLITNET_BINARY=$2 timeout -k 10 240 bash "$DEMO" >"$OUT" 2>&1
    DEMO_RC=$?
    DEMO_SECONDS=$((SECONDS - started))
}

# claimed TEXT: a ✔ line of the demo's output contains TEXT.
# shellcheck disable=SC2317  # called through check
claimed() { grep -F '✔' "$OUT" | grep -q -F -e "$1"; }

# no_netns_named PREFIX: no named netns starting with PREFIX.
# shellcheck disable=SC2317  # called through check
no_netns_named() { ! ip netns list | grep -q -F "$1"; }

PREFIX=$(e2e_name demo)
run_demo "$PREFIX" "$SPLITNET_BINARY"
if ! assert_eq "the demo exits 0" 0 "$DEMO_RC"; then
    sed 's/^/#   /' "$OUT" >&2
fi
assert_eq "no claim failed" "" "$(grep '✘' "$OUT")"
claims=$(grep -c '✔' "$OUT")
check "it makes at least 30 claims (${claims})" test "$claims" -ge 30
for claim in \
    "ADD (probeGateway require" \
    "the echo request arrived at the gateway from net1" \
    "internet sees you as 198.51.100.1" \
    "zero packets to internet addresses left via eth0" \
    "service sees you as 10.42.0." \
    "ping 2001:db8:203::10 (IPv6 internet) fails" \
    "the service 10.43.0.1 is still reached via eth0" \
    "CHECK: the whole policy is in place" \
    "no host-local lease left" \
    "no splitnet state left" \
    "namespace left"; do
    check "the demo claims: ${claim}" claimed "$claim"
done
check "its summary says all claims held" grep -q -E '^  all [0-9]+ claims held' "$OUT"
check "sections 1-5 are there" test "$(grep -c '^== [1-5]\. ' "$OUT")" -eq 5
for cmd in 'addr' 'route' '-6 route'; do
    check "it prints the pod's ip ${cmd}" grep -q -E -e "^  \\$ ip -n ${PREFIX}-pod ${cmd}\$" "$OUT"
done
check "no ${PREFIX}-* namespace left" no_netns_named "$PREFIX"
# Its duration is reported, not asserted: it depends on the machine and its load.
e2e_log "the demo took ${DEMO_SECONDS} s"

# A failing plugin: the demo stops with a non-zero status and still removes its namespaces.
PREFIX=$(e2e_name demofail)
run_demo "$PREFIX" /bin/false
check "with a failing plugin the demo exits non-zero (${DEMO_RC})" test "$DEMO_RC" -ne 0
assert_contains "... saying so" "$(cat "$OUT")" "demo failed"
check "... and leaves no ${PREFIX}-* namespace" no_netns_named "$PREFIX"

e2e_summary
