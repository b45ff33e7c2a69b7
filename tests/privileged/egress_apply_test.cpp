#include <string>

#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/egress/apply.hpp"
#include "splitnet/egress/plan.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/route.hpp"
#include "testutil/netns_fixture.hpp"

namespace splitnet::egress {
namespace {

using nlohmann::json;

/// Pod with a primary stand-in (veth eth0 10.1.1.2/24, default via 10.1.1.1) and net1, a
/// macvlan on the node's veth whose peer holds the VPN gateway 192.168.99.1.
class EgressApplyTest : public testutil::NetnsFixture {
protected:
    void build_topology() override {
        auto& node = node_nl();
        auto& pod = pod_nl();
        testutil::create_veth(node, "hostside", "eth0", pod_fd());
        const int host = net::get_link(node, "hostside").index;
        net::add_address(node, host, *net::parse_cidr("10.1.1.1/24"));
        net::set_link_up(node, host);
        const int eth0 = net::get_link(pod, "eth0").index;
        net::add_address(pod, eth0, *net::parse_cidr("10.1.1.2/24"));
        net::set_link_up(pod, eth0);
        net::set_link_up(pod, net::get_link(pod, "lo").index);
        net::RouteSpec def;
        def.dst = *net::parse_cidr("0.0.0.0/0");
        def.gw = net::parse_ip("10.1.1.1");
        def.ifindex = eth0;
        net::add_route(pod, def);

        const auto peer = net::get_link(node, kMasterPeer);
        peer_mac_ = peer.mac;
        net::add_address(node, peer.index, *net::parse_cidr("192.168.99.1/24"));

        // Left down: configure_net1() brings it up after the addresses, as the native path does.
        create_pod_macvlan("net1");
        target_.netns_fd = pod_fd();
        target_.ifname = "net1";
        target_.ips = {{"192.168.99.99/24", "192.168.99.1", 2}};
    }

    /// Native's part, in its order: addresses, link up (routes: none in these configs).
    void configure_net1() {
        auto& pod = pod_nl();
        const int net1 = net::get_link(pod, "net1").index;
        net::add_address(pod, net1, *net::parse_cidr(target_.ips.front().address));
        net::set_link_up(pod, net1);
    }

    void add(const json& conf) {
        egress_before_addresses(conf.dump(), target_);
        configure_net1();
        egress_after_routes(conf.dump(), target_);
    }

    std::string pod(const std::string& command) { return run_in(pod_path(), command); }

    /// CHECK's error message; empty when the check passed.
    std::string check_error(const json& conf) {
        try {
            egress_check(conf.dump(), target_);
        } catch (const cni::Error& e) {
            return e.msg();
        }
        return "";
    }

    EgressTarget target_;
    std::string peer_mac_;
};

json conf_with(const json& egress) {
    return json{{"type", "macvlan"},
                {"master", "mst0"},
                {"egress", egress},
                {"splitnetContext",
                 {{"clusterCIDRs", json::array({"10.42.0.0/16", "10.43.0.0/16"})},
                  {"primaryIfname", "eth0"},
                  {"primaryResult",
                   {{"cniVersion", "1.0.0"},
                    {"ips", json::array({{{"address", "10.1.1.2/24"}, {"gateway", "10.1.1.1"}}})},
                    {"routes", json::array({{{"dst", "0.0.0.0/0"}}})}}}}}};
}

TEST_F(EgressApplyTest, InstallsThePolicyAndChecksIt) {
    const auto conf = conf_with(
        {{"keep", json::array({"cluster", "192.168.5.0/24"})}, {"probeGateway", "require"}});
    add(conf);
    EXPECT_EQ(pod("ip -4 route show table all proto 83 | sort"),
              "10.42.0.0/16 via 10.1.1.1 dev eth0 \n"
              "10.43.0.0/16 via 10.1.1.1 dev eth0 \n"
              "192.168.5.0/24 via 10.1.1.1 dev eth0 \n"
              "default via 192.168.99.1 dev net1 metric 10 \n"
              "unreachable default metric 11 \n");
    EXPECT_EQ(pod("ip -6 route show table all proto 83"),
              "unreachable default dev lo metric 11 pref medium\n");
    EXPECT_EQ(pod("ip route show default dev eth0"), "");
    EXPECT_EQ(pod("ip route get 203.0.113.10 | head -1"),
              "203.0.113.10 via 192.168.99.1 dev net1 src 192.168.99.99 uid 0 \n");
    EXPECT_EQ(pod("ip route get 10.43.0.1 | head -1"),
              "10.43.0.1 via 10.1.1.1 dev eth0 src 10.1.1.2 uid 0 \n");
    EXPECT_EQ(
        pod("cat /proc/sys/net/ipv4/conf/net1/rp_filter /proc/sys/net/ipv4/conf/net1/arp_notify "
            "/proc/sys/net/ipv6/conf/net1/accept_ra /proc/sys/net/ipv6/conf/net1/autoconf"),
        "2\n1\n0\n0\n");
    EXPECT_EQ(check_error(conf), "");
    // A second run (a retried ADD) changes nothing and does not fail.
    EXPECT_NO_THROW(egress_after_routes(conf.dump(), target_));
    EXPECT_EQ(check_error(conf), "");
}

TEST_F(EgressApplyTest, KillSwitchHoldsWhenNet1Disappears) {
    add(conf_with({{"keep", json::array({"private"})}}));
    net::delete_link(pod_nl(), "net1");
    // Nothing falls back to eth0: the guard answers.
    const auto out = run("nsenter --net=" + pod_path() + " ip route get 203.0.113.10 2>&1 || true");
    EXPECT_EQ(out, "RTNETLINK answers: No route to host\n");
    EXPECT_EQ(pod("ip route get 10.43.0.1 | head -1"),
              "10.43.0.1 via 10.1.1.1 dev eth0 src 10.1.1.2 uid 0 \n");
}

TEST_F(EgressApplyTest, CheckFindsEveryDeviation) {
    const auto conf = conf_with({{"keep", json::array({"private"})}});
    add(conf);
    pod("ip route add default via 10.1.1.1 dev eth0 metric 5 && ip route del 10.0.0.0/8 && "
        "echo 1 > /proc/sys/net/ipv6/conf/net1/accept_ra");
    EXPECT_EQ(check_error(conf),
              "egress policy of net1 is not in place: keep prefix 10.0.0.0/8 is not routed via "
              "eth0; route \"default via 10.1.1.1 dev eth0 metric 5\" lets traffic outside keep "
              "leave via eth0; net/ipv6/conf/net1/accept_ra is 1, expected 0");
}

// Every hop of a multipath route is looked at: with net1's hop first, a check of the first hop
// alone would pass while half the traffic leaves through eth0.
TEST_F(EgressApplyTest, CheckSeesEveryHopOfAMultipathRoute) {
    const auto conf = conf_with({{"keep", json::array({"private"})}});
    add(conf);
    pod("ip route add 203.0.113.0/24 nexthop via 192.168.99.1 dev net1 "
        "nexthop via 10.1.1.1 dev eth0");
    EXPECT_EQ(check_error(conf),
              "egress policy of net1 is not in place: route \"203.0.113.0/24 via 10.1.1.1 dev "
              "eth0 metric 0\" lets traffic outside keep leave via eth0");
}

// A multipath route with a hop through eth0 that exists when the policy is applied goes as a
// whole: the kernel cannot take a later hop of an IPv4 multipath route out on its own.
TEST_F(EgressApplyTest, AMultipathRouteWithAHopThroughEth0GoesAsAWhole) {
    const auto conf = conf_with({{"keep", json::array({"private"})}});
    egress_before_addresses(conf.dump(), target_);
    configure_net1();
    // net1's hop first: only the second one leaks.
    pod("ip route add 203.0.113.0/24 nexthop via 192.168.99.1 dev net1 "
        "nexthop via 10.1.1.1 dev eth0");
    egress_after_routes(conf.dump(), target_);
    EXPECT_EQ(pod("ip route show 203.0.113.0/24"), "");
    EXPECT_EQ(pod("ip route get 203.0.113.10 | head -1"),
              "203.0.113.10 via 192.168.99.1 dev net1 src 192.168.99.99 uid 0 \n");
    EXPECT_EQ(check_error(conf), "");
}

// IPv6 keeps a multipath route as one route per hop: the hop through eth0 goes on its own and
// net1's stays (IPv6 is managed under "route" as under "block").
TEST_F(EgressApplyTest, AnIpv6MultipathHopThroughEth0GoesOnItsOwn) {
    target_.ips.push_back({"2001:db8:99::99/64", "2001:db8:99::1", 2});
    // No gateway answers NDP here: the probe would only wait.
    const auto conf =
        conf_with({{"keep", json::array({"private"})}, {"ipv6", "route"}, {"probeGateway", "off"}});
    egress_before_addresses(conf.dump(), target_);
    configure_net1();
    pod("ip -6 addr add 2001:db8:99::99/64 dev net1 nodad && "
        "ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad && "
        "ip -6 route add 2001:db8:ff::/48 nexthop via 2001:db8:99::1 dev net1 "
        "nexthop via 2001:db8:1::1 dev eth0");
    EXPECT_THAT(check_error(conf),
                testing::HasSubstr("route \"2001:db8:ff::/48 via 2001:db8:1::1 dev eth0 metric "
                                   "1024\" lets traffic outside keep leave via eth0"));
    egress_after_routes(conf.dump(), target_);
    EXPECT_EQ(pod("ip -6 route show 2001:db8:ff::/48"),
              "2001:db8:ff::/48 via 2001:db8:99::1 dev net1 metric 1024 pref medium\n");
    EXPECT_EQ(check_error(conf), "");
}

TEST_F(EgressApplyTest, DelRemovesOnlyWhatEgressAdded) {
    const auto conf = conf_with({{"keep", json::array({"private"})}});
    add(conf);
    egress_del(conf.dump(), pod_fd());
    EXPECT_EQ(pod("ip route show table all proto 83"), "");
    // The primary's own routes are still there; its default is not restored.
    EXPECT_EQ(pod("ip -4 route show dev eth0"),
              "10.1.1.0/24 proto kernel scope link src 10.1.1.2 \n");
    // A config without the block does nothing, even with a broken netns state.
    EXPECT_NO_THROW(egress_del((json{{"type", "macvlan"}}).dump(), pod_fd()));
}

TEST_F(EgressApplyTest, GatewayRequiredButAbsentFailsAndLeavesNothing) {
    const auto conf = conf_with({{"gateway", "192.168.99.7"}, {"probeGateway", "require"}});
    egress_before_addresses(conf.dump(), target_);
    configure_net1();
    try {
        egress_after_routes(conf.dump(), target_);
        FAIL() << "ADD passed";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::TryAgainLater));
        EXPECT_EQ(e.msg(),
                  "egress: the VPN gateway 192.168.99.7 did not answer ARP on net1 (master mst0) "
                  "within 3 x 100 ms; check that the gateway is up and on the master's "
                  "segment/VLAN");
    }
    EXPECT_EQ(pod("ip route show table all proto 83"), "");
}

TEST_F(EgressApplyTest, GatewayWarnOnlyLogs) {
    const auto conf = conf_with({{"gateway", "192.168.99.7"}, {"probeGateway", "warn"}});
    EXPECT_NO_THROW(add(conf));
    EXPECT_NE(pod("ip route show default"), "");
}

TEST_F(EgressApplyTest, ConflictingAddressIsRefusedWithTheHoldersMac) {
    target_.ips = {{"192.168.99.1/24", "", 2}};  // what the gateway already holds
    try {
        egress_before_addresses((conf_with({{"gateway", "192.168.99.2"}})).dump(), target_);
        FAIL() << "no conflict detected";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.msg(), "egress: 192.168.99.1 is already in use on net1's segment by " +
                               peer_mac_ + " (ARP probe); refusing to take it");
    }
}

TEST_F(EgressApplyTest, ConfigErrorsSurfaceBeforeAddresses) {
    EXPECT_THROW(egress_before_addresses(
                     (conf_with({{"keep", json::array({"10.0.0.1/8"})}})).dump(), target_),
                 cni::Error);
    EXPECT_EQ(pod("ip -4 addr show dev net1"), "");
}

TEST_F(EgressApplyTest, DnsAddressOnLoIsAddedCheckedAndRemoved) {
    auto conf = conf_with({{"dns", {{"servers", json::array({"192.0.2.53"})}}}});
    conf["splitnetContext"]["clusterDNS"] = "10.43.0.10";
    const auto lo_addresses = [&] {
        return pod("ip -4 -o addr show dev lo | grep -o \"inet [^ ]*\"");
    };
    add(conf);
    EXPECT_EQ(lo_addresses(), "inet 127.0.0.1/8\ninet 10.43.0.10/32\n");
    // Local delivery: the pod's queries to the Service IP never reach eth0's route.
    EXPECT_EQ(pod("ip route get 10.43.0.10 | head -1"),
              "local 10.43.0.10 dev lo src 10.43.0.10 uid 0 \n");
    EXPECT_EQ(check_error(conf), "");
    pod("ip addr del 10.43.0.10/32 dev lo");
    EXPECT_THAT(check_error(conf),
                testing::HasSubstr("egress.dns: 10.43.0.10/32 is not on the pod's lo"));
    EXPECT_NO_THROW(egress_after_routes(conf.dump(), target_));  // a retried ADD puts it back
    EXPECT_EQ(lo_addresses(), "inet 127.0.0.1/8\ninet 10.43.0.10/32\n");
    egress_del(conf.dump(), pod_fd());
    EXPECT_EQ(lo_addresses(), "inet 127.0.0.1/8\n");
}

TEST_F(EgressApplyTest, DnsWithoutTheNodesClusterDnsFailsBeforeAddresses) {
    const auto conf = conf_with({{"dns", {{"servers", json::array({"192.0.2.53"})}}}});
    try {
        egress_before_addresses(conf.dump(), target_);
        ADD_FAILURE() << "accepted egress.dns without clusterDNS";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        EXPECT_NE(e.msg().find("--cluster-dns"), std::string::npos) << e.msg();
    }
    EXPECT_EQ(pod("ip -4 addr show dev net1"), "");
}

TEST_F(EgressApplyTest, NoBlockNoEffect) {
    const json conf = {{"type", "macvlan"}};
    egress_before_addresses(conf.dump(), target_);
    configure_net1();
    egress_after_routes(conf.dump(), target_);
    EXPECT_EQ(check_error(conf), "");
    EXPECT_EQ(pod("ip route show default"), "default via 10.1.1.1 dev eth0 \n");
}

}  // namespace
}  // namespace splitnet::egress
