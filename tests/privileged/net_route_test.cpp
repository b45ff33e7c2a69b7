#include <algorithm>
#include <string>
#include <vector>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/route.hpp"
#include "testutil/netns_fixture.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::net {
namespace {

class NetRouteTest : public testutil::NetnsFixture {
protected:
    void build_topology() override { ifindex_ = create_pod_macvlan("net1", LinkState::Up); }

    /// A main-table route to `dst` via `gw` on net1.
    [[nodiscard]] RouteSpec route_via(const char* dst, const char* gw) const {
        RouteSpec route;
        route.dst = *parse_cidr(dst);
        route.gw = parse_ip(gw);
        route.ifindex = ifindex_;
        return route;
    }

    int ifindex_ = 0;
};

std::ptrdiff_t count_dst(const std::vector<RouteInfo>& routes, const char* dst) {
    return std::count_if(routes.begin(), routes.end(),
                         [&](const RouteInfo& r) { return to_string(r.dst) == dst; });
}

TEST_F(NetRouteTest, Ipv6AddressWithNodadIsNotTentative) {
    add_address(pod_nl(), ifindex_, *parse_cidr("2001:db8::10/64"));
    AddressOptions dad;
    dad.no_dad = false;
    add_address(pod_nl(), ifindex_, *parse_cidr("2001:db8::11/64"), dad);
    add_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24"));
    auto addrs = list_addresses(pod_nl(), ifindex_, std::nullopt);
    auto find = [&](const char* cidr) {
        return std::find_if(addrs.begin(), addrs.end(),
                            [&](const AddressInfo& a) { return to_string(a.local) == cidr; });
    };
    ASSERT_NE(find("2001:db8::10/64"), addrs.end());
    EXPECT_FALSE(find("2001:db8::10/64")->tentative());
    EXPECT_TRUE(find("2001:db8::10/64")->flags & IFA_F_NODAD);
    ASSERT_NE(find("2001:db8::11/64"), addrs.end());
    EXPECT_TRUE(find("2001:db8::11/64")->tentative());
    ASSERT_NE(find("198.51.100.10/24"), addrs.end());
    // Broadcast computed as Go's AddrAdd does.
    const auto shown = run_in(pod_path(), "ip -4 -o addr show dev net1");
    EXPECT_NE(shown.find("brd 198.51.100.255"), std::string::npos) << shown;

    EXPECT_THROW(add_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24")), NetlinkError);
    AddressOptions ok;
    ok.exist_ok = true;
    EXPECT_NO_THROW(add_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24"), ok));
    EXPECT_TRUE(delete_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24")));
    EXPECT_FALSE(delete_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24")));
    EXPECT_EQ(list_addresses(pod_nl(), ifindex_, Family::V4).size(), 0U);
}

TEST_F(NetRouteTest, RoutesWithGatewayTableMetricAndEcmp) {
    add_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24"));
    const RouteSpec r = route_via("203.0.113.0/24", "198.51.100.1");
    add_route(pod_nl(), r);
    // Same dst, other gateway: accepted (no NLM_F_EXCL), like RouteAddEcmp.
    RouteSpec r2 = r;
    r2.gw = parse_ip("198.51.100.2");
    EXPECT_NO_THROW(add_route(pod_nl(), r2));
    EXPECT_THROW(add_route(pod_nl(), r2, true), NetlinkError);

    RouteSpec t;
    t.dst = default_prefix(Family::V4);
    t.gw = parse_ip("198.51.100.254");
    t.ifindex = ifindex_;
    t.table = 100;
    t.priority = 50;
    add_route(pod_nl(), t);

    RouteSpec onlink;
    onlink.dst = *parse_cidr("10.99.0.0/16");
    onlink.gw = parse_ip("192.0.2.77");  // not covered by any address: needs onlink
    onlink.ifindex = ifindex_;
    onlink.onlink = true;
    add_route(pod_nl(), onlink);

    RouteSpec direct;
    direct.dst = *parse_cidr("10.98.0.0/16");
    direct.ifindex = ifindex_;
    add_route(pod_nl(), direct);

    RouteSpec bh;
    bh.dst = *parse_cidr("10.97.0.0/16");
    bh.type = RouteType::Blackhole;
    bh.table = 100;
    add_route(pod_nl(), bh);
    RouteSpec unr = bh;
    unr.dst = *parse_cidr("10.96.0.0/16");
    unr.type = RouteType::Unreachable;
    add_route(pod_nl(), unr);
    RouteSpec pro = bh;
    pro.dst = *parse_cidr("10.95.0.0/16");
    pro.type = RouteType::Prohibit;
    add_route(pod_nl(), pro);

    const auto main = list_routes(pod_nl(), Family::V4, kMainTable);
    const auto t100 = list_routes(pod_nl(), Family::V4, 100);
    EXPECT_EQ(count_dst(main, "203.0.113.0/24"), 2);
    EXPECT_EQ(count_dst(main, "10.99.0.0/16"), 1);
    EXPECT_EQ(count_dst(main, "0.0.0.0/0"), 0);
    ASSERT_EQ(count_dst(t100, "0.0.0.0/0"), 1);
    for (const auto& route : t100) {
        if (route.dst.prefix == 0) {
            EXPECT_EQ(route.priority, 50U);
            ASSERT_EQ(route.nexthops.size(), 1U);
            EXPECT_EQ(to_string(*route.nexthops[0].gw), "198.51.100.254");
            EXPECT_EQ(route.protocol, RTPROT_BOOT);
        }
        if (to_string(route.dst) == "10.97.0.0/16") {
            EXPECT_EQ(route.type, RouteType::Blackhole);
        }
        if (to_string(route.dst) == "10.96.0.0/16") {
            EXPECT_EQ(route.type, RouteType::Unreachable);
        }
        if (to_string(route.dst) == "10.95.0.0/16") {
            EXPECT_EQ(route.type, RouteType::Prohibit);
        }
    }
    bool saw_direct = false;
    for (const auto& route : main) {
        if (to_string(route.dst) == "10.98.0.0/16") {
            // Go sends scope universe for a gateway-less route; so do we.
            EXPECT_EQ(route.scope, RT_SCOPE_UNIVERSE);
            saw_direct = true;
        }
    }
    EXPECT_TRUE(saw_direct);

    EXPECT_TRUE(delete_route(pod_nl(), t));
    EXPECT_FALSE(delete_route(pod_nl(), t));
    EXPECT_EQ(count_dst(list_routes(pod_nl(), Family::V4, 100), "0.0.0.0/0"), 0);
    EXPECT_TRUE(delete_route(pod_nl(), bh));
}

TEST_F(NetRouteTest, UnreachableGatewayErrorNamesRouteAndErrno) {
    const auto error = testutil::thrown<NetlinkError>(
        [&] { add_route(pod_nl(), route_via("203.0.113.0/24", "192.0.2.99")); });
    ASSERT_TRUE(error) << "a gateway outside every subnet must be refused";
    const std::string msg = error->what();
    EXPECT_NE(msg.find("203.0.113.0/24 via 192.0.2.99"), std::string::npos) << msg;
    EXPECT_NE(msg.find("network is unreachable"), std::string::npos) << msg;
}

TEST_F(NetRouteTest, Ipv6EcmpMergesIntoMultipath) {
    add_address(pod_nl(), ifindex_, *parse_cidr("2001:db8::10/64"));
    RouteSpec r = route_via("2001:db8:99::/48", "2001:db8::1");
    add_route(pod_nl(), r);
    r.gw = parse_ip("2001:db8::2");
    add_route(pod_nl(), r);
    std::size_t hops = 0;
    for (const auto& route : list_routes(pod_nl(), Family::V6, kMainTable)) {
        if (to_string(route.dst) == "2001:db8:99::/48") {
            hops += route.nexthops.size();
        }
    }
    EXPECT_EQ(hops, 2U);
}

std::vector<std::string> default_gateways(Netlink& nl) {
    std::vector<std::string> gateways;
    for (const auto& entry : list_default_routes(nl)) {
        gateways.push_back(entry.hop.gw ? to_string(*entry.hop.gw) : "-");
    }
    std::sort(gateways.begin(), gateways.end());
    return gateways;
}

TEST_F(NetRouteTest, DefaultRoutesAreListedPerHopReplacedAndDeleted) {
    add_address(pod_nl(), ifindex_, *parse_cidr("198.51.100.10/24"));
    add_address(pod_nl(), ifindex_, *parse_cidr("2001:db8::10/64"));
    EXPECT_TRUE(list_default_routes(pod_nl()).empty());

    // Replace semantics: a second call neither fails with EEXIST nor adds an ECMP hop.
    replace_default_route(pod_nl(), ifindex_, *parse_ip("198.51.100.1"));
    replace_default_route(pod_nl(), ifindex_, *parse_ip("198.51.100.1"));
    EXPECT_EQ(default_gateways(pod_nl()), std::vector<std::string>{"198.51.100.1"});
    replace_default_route(pod_nl(), ifindex_, *parse_ip("198.51.100.2"));
    EXPECT_EQ(default_gateways(pod_nl()), std::vector<std::string>{"198.51.100.2"});

    // An IPv6 ECMP default route is one route with two hops: listed as two entries. A route in
    // another table is not a default route of the pod.
    RouteSpec v6 = route_via("::/0", "2001:db8::1");
    add_route(pod_nl(), v6);
    v6.gw = parse_ip("2001:db8::2");
    add_route(pod_nl(), v6);
    RouteSpec other_table = route_via("0.0.0.0/0", "198.51.100.3");
    other_table.table = 100;
    add_route(pod_nl(), other_table);
    EXPECT_EQ(default_gateways(pod_nl()),
              (std::vector<std::string>{"198.51.100.2", "2001:db8::1", "2001:db8::2"}));

    // Deleting one hop leaves the other; deleting what is gone says so.
    for (const auto& entry : list_default_routes(pod_nl())) {
        if (entry.hop.gw && to_string(*entry.hop.gw) == "2001:db8::1") {
            EXPECT_TRUE(delete_default_route(pod_nl(), entry));
            EXPECT_FALSE(delete_default_route(pod_nl(), entry));
        }
    }
    EXPECT_EQ(default_gateways(pod_nl()),
              (std::vector<std::string>{"198.51.100.2", "2001:db8::2"}));
    for (const auto& entry : list_default_routes(pod_nl())) {
        EXPECT_TRUE(delete_default_route(pod_nl(), entry));
    }
    EXPECT_TRUE(list_default_routes(pod_nl()).empty());
    EXPECT_EQ(count_dst(list_routes(pod_nl(), Family::V4, 100), "0.0.0.0/0"), 1);
}

TEST_F(NetRouteTest, DefaultRouteInterface) {
    EXPECT_FALSE(default_route_ifindex(node_nl()));
    add_node_default_route();
    EXPECT_EQ(default_route_ifindex(node_nl()), get_link(node_nl(), kMaster).index);
    EXPECT_FALSE(default_route_ifindex(pod_nl()));
}

}  // namespace
}  // namespace splitnet::net
