// apply_default_routes against a real kernel: a pod netns (held by an fd) with two macvlans,
// eth0 and net1, each with default routes of its own.
#include <algorithm>
#include <string>
#include <vector>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/route.hpp"
#include "splitnet/verbs/default_route.hpp"
#include "testutil/netns_fixture.hpp"

namespace splitnet::verbs {
namespace {

using plan::DefaultRouteAction;

class DefaultRouteApplyTest : public testutil::NetnsFixture {
protected:
    void build_topology() override {
        const int eth0 = create_pod_macvlan("eth0", LinkState::Up);
        const int net1 = create_pod_macvlan("net1", LinkState::Up);
        net::add_address(pod_nl(), eth0, *net::parse_cidr("10.1.0.5/24"));
        net::add_address(pod_nl(), eth0, *net::parse_cidr("fd00:1::5/64"));
        net::add_address(pod_nl(), net1, *net::parse_cidr("192.0.2.10/24"));
        net::add_address(pod_nl(), net1, *net::parse_cidr("2001:db8::10/64"));
        // What a primary plugin plus a NAD with its own default route leave behind: two IPv4
        // defaults on eth0 (metrics 0 and 50), one on net1, an IPv6 default on each, and a
        // cluster route that must survive.
        pod("ip route add default via 10.1.0.1 dev eth0");
        pod("ip route add 0.0.0.0/0 via 10.1.0.2 dev eth0 metric 50");
        pod("ip route add default via 192.0.2.254 dev net1 metric 100");
        pod("ip route add 10.96.0.0/12 via 10.1.0.1 dev eth0");
        pod("ip -6 route add default via fd00:1::1 dev eth0");
        pod("ip -6 route add ::/0 via 2001:db8::fe dev net1 metric 2000");
    }

    std::string pod(const std::string& command) const { return run_in(pod_path(), command); }

    std::string defaults(const char* family) const {
        auto out = pod(std::string("ip ") + family + " route show default");
        out.erase(std::remove(out.begin(), out.end(), '\n'), out.end());
        return out;
    }

    static DefaultRouteAction filtered(const char* ifname) {
        DefaultRouteAction a;
        a.ifname = ifname;
        a.filter_v4 = true;
        a.filter_v6 = true;
        return a;
    }

    static DefaultRouteAction chosen(const char* ifname, const char* gw4,
                                     const char* gw6 = nullptr) {
        auto a = filtered(ifname);
        a.filter_v4 = false;
        a.gateway_v4 = gw4;
        if (gw6 != nullptr) {
            a.filter_v6 = false;
            a.gateway_v6 = gw6;
        }
        return a;
    }
};

TEST_F(DefaultRouteApplyTest, OnlyTheRequestedGatewayRemains) {
    apply_default_routes(pod_path(), {filtered("eth0"), chosen("net1", "192.0.2.1")});
    EXPECT_EQ(defaults("-4"), "default via 192.0.2.1 dev net1 ");
    EXPECT_EQ(defaults("-6"), "");
    EXPECT_NE(pod("ip -4 route show 10.96.0.0/12").find("via 10.1.0.1 dev eth0"),
              std::string::npos);

    // Replace semantics: running it again (or over an identical route) is no EEXIST.
    apply_default_routes(pod_path(), {filtered("eth0"), chosen("net1", "192.0.2.1")});
    EXPECT_EQ(defaults("-4"), "default via 192.0.2.1 dev net1 ");
}

TEST_F(DefaultRouteApplyTest, OneGatewayPerFamilyOnDifferentInterfaces) {
    auto eth0 = filtered("eth0");
    eth0.filter_v6 = false;
    eth0.gateway_v6 = "fd00:1::1";
    apply_default_routes(pod_path(), {eth0, chosen("net1", "192.0.2.1")});
    EXPECT_EQ(defaults("-4"), "default via 192.0.2.1 dev net1 ");
    const auto v6 = defaults("-6");
    EXPECT_NE(v6.find("default via fd00:1::1 dev eth0 metric 1024"), std::string::npos) << v6;
    EXPECT_EQ(v6.find("net1"), std::string::npos) << v6;
}

TEST_F(DefaultRouteApplyTest, EmptyRequestRemovesAllDefaultRoutes) {
    apply_default_routes(pod_path(), {filtered("eth0"), filtered("net1")});
    EXPECT_EQ(defaults("-4"), "");
    EXPECT_EQ(defaults("-6"), "");
}

TEST_F(DefaultRouteApplyTest, InterfacesOutsideThePlanAreLeftAlone) {
    // net1 is not an attachment here (e.g. created by something else): its routes stay.
    apply_default_routes(pod_path(), {chosen("eth0", "10.1.0.1")});
    const auto v4 = defaults("-4");
    EXPECT_NE(v4.find("default via 10.1.0.1 dev eth0"), std::string::npos) << v4;
    EXPECT_EQ(v4.find("10.1.0.2"), std::string::npos) << v4;
    EXPECT_NE(v4.find("via 192.0.2.254 dev net1"), std::string::npos) << v4;
    EXPECT_NE(defaults("-6").find("dev net1"), std::string::npos);
}

TEST_F(DefaultRouteApplyTest, UnreachableGatewayFailsNamingTheInterface) {
    try {
        apply_default_routes(pod_path(), {filtered("eth0"), chosen("net1", "203.0.113.1")});
        FAIL() << "expected an error";
    } catch (const cni::Error& e) {
        EXPECT_NE(std::string(e.what()).find("default via 203.0.113.1 dev net1"), std::string::npos)
            << e.what();
        EXPECT_NE(e.details().find("subnet"), std::string::npos) << e.details();
    }
}

TEST_F(DefaultRouteApplyTest, MissingInterfaceOnlyMattersWhenItShouldCarryTheGateway) {
    EXPECT_NO_THROW(apply_default_routes(
        pod_path(), {filtered("eth0"), filtered("net9"), chosen("net1", "192.0.2.1")}));
    EXPECT_EQ(defaults("-4"), "default via 192.0.2.1 dev net1 ");
    EXPECT_THROW(apply_default_routes(pod_path(), {filtered("eth0"), chosen("net9", "192.0.2.1")}),
                 cni::Error);
}

}  // namespace
}  // namespace splitnet::verbs
