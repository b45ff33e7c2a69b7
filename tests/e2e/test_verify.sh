#!/usr/bin/env bash
# `splitnet verify` in a real pod netns: a real ADD (ptp primary + native
# macvlan net1 with the VPN egress policy, as test_egress_vpn.sh) and verify passes, run as
# nobody with no capability at all (an init container needs no NET_ADMIN). Then each part of the
# protection is broken in turn (a default via eth0, the IPv4 and IPv6 kill switches, an IPv6
# default, net1 itself) and verify fails with exit 1 naming it; repaired, it passes again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/egress_lib.sh"
egress_e2e_setup

CONF=$(conf_vpn_pod '{"keep":["cluster"],"ipv6":"block","probeGateway":"off","probeConflict":false}')

# run_verify ARG...: `splitnet verify` inside the pod netns as uid/gid 65534 with an empty
# capability set (bounding set included); sets V_RC, V_OUT (stdout) and V_ERR (stderr).
V_OUT=${E2E_TMP}/verify.out
V_ERR=${E2E_TMP}/verify.err
run_verify() {
    ip netns exec "$POD_NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
        --inh-caps=-all --bounding-set=-all --no-new-privs \
        "$SPLITNET_BINARY" verify "$@" >"$V_OUT" 2>"$V_ERR"
    V_RC=$?
}
verify_fails_naming() {
    local what=$1 text=$2
    shift 2
    run_verify "$@"
    assert_eq "$what: verify exits 1" 1 "$V_RC"
    assert_contains "... naming it" "$(cat "$V_ERR")" "$text"
}

# Before the ADD the pod has nothing: exactly what a bypassed pod looks like.
run_verify
assert_eq "an empty pod netns fails verify" 1 "$V_RC"
assert_contains "... naming net1" "$(cat "$V_ERR")" "the VPN interface net1 is missing"

run_splitnet ADD "$CONF"
assert_rc "ADD with egress" 0 || { sn_dump; exit 1; }

run_verify
assert_eq "after ADD: verify passes (as nobody, no capabilities)" 0 "$V_RC"
assert_contains "... and says so" "$(cat "$V_OUT")" "splitnet verify: ok"
assert_eq "... with nothing on stderr" "" "$(cat "$V_ERR")"
run_verify --interface=net1 --gateway=192.168.99.1 --ipv6=block
assert_eq "the explicit flags of the documented NAD pass too" 0 "$V_RC"
verify_fails_naming "another gateway" "not to the VPN gateway 192.0.2.1" --gateway=192.0.2.1
verify_fails_naming "--ipv6=vpn without an IPv6 VPN default" \
    "no IPv6 default route via the VPN interface net1" --ipv6=vpn

# A default via eth0 comes back (the primary re-adds it, an admin does).
ip -n "$POD_NS" route add default via 10.42.0.1 dev eth0 metric 50
verify_fails_naming "a default via eth0" "default via 10.42.0.1 dev eth0 metric 50"
ip -n "$POD_NS" route del default via 10.42.0.1 dev eth0 metric 50
ip -n "$POD_NS" route add default via 10.42.0.1 dev eth0 table 100
verify_fails_naming "a default via eth0 in another table" "dev eth0 table 100"
ip -n "$POD_NS" route del default via 10.42.0.1 dev eth0 table 100
run_verify
assert_eq "repaired: verify passes again" 0 "$V_RC"

# The kill switches.
ip -n "$POD_NS" route del unreachable default metric 11
verify_fails_naming "no IPv4 kill switch" "the IPv4 kill switch is missing"
ip -n "$POD_NS" route add unreachable default metric 11 proto 83
ip -n "$POD_NS" -6 route del unreachable default metric 11
verify_fails_naming "no IPv6 kill switch" "the IPv6 kill switch is missing"
ip -n "$POD_NS" -6 route add unreachable default metric 11 proto 83
run_verify
assert_eq "kill switches back: verify passes" 0 "$V_RC"

# IPv6 enabled past the VPN: a v6 default via eth0, or via net1 while IPv6 is to be blocked.
ip -n "$POD_NS" -6 route add default via fd00:42::1 dev eth0 metric 1024
verify_fails_naming "an IPv6 default via eth0" "sends IPv6 traffic out via the cluster interface eth0"
ip -n "$POD_NS" -6 route del default via fd00:42::1 dev eth0 metric 1024
ip -n "$POD_NS" -6 route add default dev net1 metric 5
verify_fails_naming "an IPv6 default via net1 under --ipv6=block" "which is to be blocked"
run_verify --ipv6=any
assert_eq "... which --ipv6=any accepts" 0 "$V_RC"
ip -n "$POD_NS" -6 route del default dev net1 metric 5

# net1 itself.
ip -n "$POD_NS" link set net1 down
verify_fails_naming "net1 down" "the VPN interface net1 is down"
ip -n "$POD_NS" link del net1
verify_fails_naming "net1 deleted" "the VPN interface net1 is missing"
assert_contains "... and its default route with it" "$(cat "$V_ERR")" \
    "no IPv4 default route via the VPN interface net1"

# The command line.
run_verify --help
assert_eq "verify --help exits 0" 0 "$V_RC"
assert_contains "... listing the flags" "$(cat "$V_OUT")" "--ipv6=block|vpn|any"
run_verify --bogus
assert_eq "an unknown flag: exit 2" 2 "$V_RC"
assert_contains "... naming it, with the usage" "$(cat "$V_ERR")" "--bogus: unknown flag"
assert_contains "... and the usage" "$(cat "$V_ERR")" "usage: splitnet verify"

e2e_summary
