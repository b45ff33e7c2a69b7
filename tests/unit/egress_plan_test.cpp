#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/egress/plan.hpp"

namespace splitnet::egress {
namespace {

using nlohmann::json;

RouteEntry route(const std::string& dst, const std::string& gw, const std::string& dev,
                 std::uint32_t priority = 0, std::uint8_t protocol = 3,
                 std::uint32_t table = RouteEntry::kMainTable) {
    RouteEntry r;
    r.dst = *net::parse_cidr(dst);
    if (!gw.empty()) {
        r.gateway = net::parse_ip(gw);
    }
    r.dev = dev;
    r.priority = priority;
    r.protocol = protocol;
    r.table = table;
    return r;
}

/// The pod after ptp + host-local (10.1.1.2/24, v6 fd00:1::2/64) and native net1.
std::vector<RouteEntry> ptp_pod() {
    return {
        route("0.0.0.0/0", "10.1.1.1", "eth0"),
        route("10.1.1.0/24", "10.1.1.1", "eth0"),
        route("10.1.1.1/32", "", "eth0"),
        route("192.168.99.0/24", "", "net1", 0, kKernelRouteProtocol),
        route("::/0", "fd00:1::1", "eth0", 1024),
        route("fd00:1::/64", "", "eth0", 256, kKernelRouteProtocol),
        route("fe80::/64", "", "eth0", 256, kKernelRouteProtocol),
        route("fe80::/64", "", "net1", 256, kKernelRouteProtocol),
        route("10.1.1.2/32", "", "eth0", 0, kKernelRouteProtocol, RouteEntry::kLocalTable),
    };
}

ResolvedEgress policy(const json& block,
                      const std::vector<std::string>& cluster = {"10.42.0.0/16", "10.43.0.0/16"}) {
    SplitnetContext ctx;
    ctx.present = true;
    for (const auto& c : cluster) {
        ctx.cluster_cidrs.push_back(*net::parse_cidr(c));
    }
    return resolve_egress(*parse_egress_config(json{{"egress", block}}), ctx, "net1",
                          {{"192.168.99.99/24", "192.168.99.1", 2}});
}

std::vector<std::string> described(const std::vector<RouteEntry>& routes) {
    std::vector<std::string> out;
    out.reserve(routes.size());
    for (const auto& r : routes) {
        out.push_back(r.describe());
    }
    return out;
}

/// Applies a plan to a route list the way the kernel would (for check/del round trips).
std::vector<RouteEntry> applied(std::vector<RouteEntry> routes, const EgressPlan& plan) {
    routes.insert(routes.end(), plan.add_first.begin(), plan.add_first.end());
    for (const auto& gone : plan.remove) {
        routes.erase(std::remove_if(routes.begin(), routes.end(),
                                    [&](const RouteEntry& r) {
                                        return r.describe() == gone.describe() &&
                                               r.protocol == gone.protocol;
                                    }),
                     routes.end());
    }
    routes.insert(routes.end(), plan.add_last.begin(), plan.add_last.end());
    return routes;
}

TEST(EgressPlan, BlockModeWithClusterKeep) {
    const auto p = policy({{"keep", json::array({"cluster", "192.168.5.0/24"})}});
    const auto plan = plan_egress(p, ptp_pod());
    EXPECT_EQ(net::to_string(*plan.primary_gateway4), "10.1.1.1");
    EXPECT_EQ(described(plan.add_first),
              (std::vector<std::string>{"10.42.0.0/16 via 10.1.1.1 dev eth0 metric 0",
                                        "10.43.0.0/16 via 10.1.1.1 dev eth0 metric 0",
                                        "192.168.5.0/24 via 10.1.1.1 dev eth0 metric 0",
                                        "unreachable default metric 11",
                                        "unreachable default (v6) metric 11"}));
    // ptp's subnet route is not kept (keep lacks it), both defaults via eth0 go.
    EXPECT_EQ(described(plan.remove),
              (std::vector<std::string>{"default via 10.1.1.1 dev eth0 metric 0",
                                        "10.1.1.0/24 via 10.1.1.1 dev eth0 metric 0",
                                        "default (v6) via fd00:1::1 dev eth0 metric 1024"}));
    EXPECT_EQ(described(plan.add_last),
              (std::vector<std::string>{"default via 192.168.99.1 dev net1 metric 10"}));
    for (const auto& r : plan.add_first) {
        EXPECT_EQ(r.protocol, kEgressRouteProtocol);
    }
    EXPECT_TRUE(check_egress(p, applied(ptp_pod(), plan)).empty());
}

TEST(EgressPlan, PrimarySubnetAlreadyOnEth0IsNotAddedTwice) {
    const auto p = policy({{"keep", json::array({"cluster"})}}, {"10.1.1.0/24", "10.43.0.0/16"});
    const auto plan = plan_egress(p, ptp_pod());
    EXPECT_EQ(described(plan.add_first),
              (std::vector<std::string>{"10.43.0.0/16 via 10.1.1.1 dev eth0 metric 0",
                                        "unreachable default metric 11",
                                        "unreachable default (v6) metric 11"}));
    EXPECT_EQ(plan.remove.size(), 2U);  // the two defaults only
}

TEST(EgressPlan, KeptV6PrefixesUseEth0sV6Gateway) {
    const auto p = policy({{"keep", json::array({"private", "fd00:43::/64"})}});
    const auto plan = plan_egress(p, ptp_pod());
    EXPECT_EQ(net::to_string(*plan.primary_gateway6), "fd00:1::1");
    const auto adds = described(plan.add_first);
    EXPECT_NE(std::find(adds.begin(), adds.end(), "fd00:43::/64 via fd00:1::1 dev eth0 metric 0"),
              adds.end());
}

TEST(EgressPlan, AllowLeavesIpv6Alone) {
    const auto p = policy({{"keep", json::array({"private"})}, {"ipv6", "allow"}});
    const auto plan = plan_egress(p, ptp_pod());
    EXPECT_EQ(described(plan.add_first),
              (std::vector<std::string>{"10.0.0.0/8 via 10.1.1.1 dev eth0 metric 0",
                                        "172.16.0.0/12 via 10.1.1.1 dev eth0 metric 0",
                                        "192.168.0.0/16 via 10.1.1.1 dev eth0 metric 0",
                                        "unreachable default metric 11"}));
    EXPECT_EQ(described(plan.remove),
              (std::vector<std::string>{"default via 10.1.1.1 dev eth0 metric 0"}));
}

TEST(EgressPlan, RouteModeAddsV6DefaultViaNet1) {
    SplitnetContext ctx;
    const auto p = resolve_egress(
        *parse_egress_config(
            json{{"egress", {{"ipv6", "route"}, {"keep", json::array({"private"})}}}}),
        ctx, "net1",
        {{"192.168.99.99/24", "192.168.99.1", 2}, {"2001:db8:99::5/64", "2001:db8:99::1", 2}});
    const auto plan = plan_egress(p, ptp_pod());
    EXPECT_EQ(described(plan.add_last),
              (std::vector<std::string>{"default via 192.168.99.1 dev net1 metric 10",
                                        "default (v6) via 2001:db8:99::1 dev net1 metric 10"}));
    EXPECT_TRUE(check_egress(p, applied(ptp_pod(), plan)).empty());
}

TEST(EgressPlan, BlockRemovesRaDefaultOnNet1AndLeaksInOtherTables) {
    auto routes = ptp_pod();
    routes.push_back(route("::/0", "fe80::1", "net1", 1024, 9));          // RA-learned
    routes.push_back(route("0.0.0.0/0", "10.1.1.1", "eth0", 0, 3, 100));  // sbr-style table
    routes.push_back(route("203.0.113.0/24", "10.1.1.1", "eth0", 0, 3, 100));
    const auto p = policy({{"keep", json::array({"private"})}});
    const auto plan = plan_egress(p, routes);
    EXPECT_EQ(
        described(plan.remove),
        (std::vector<std::string>{"default via 10.1.1.1 dev eth0 metric 0",
                                  "default (v6) via fd00:1::1 dev eth0 metric 1024",
                                  "default (v6) via fe80::1 dev net1 metric 1024",
                                  "default via 10.1.1.1 dev eth0 table 100 metric 0",
                                  "203.0.113.0/24 via 10.1.1.1 dev eth0 table 100 metric 0"}));
}

TEST(EgressPlan, IdempotentAfterAFailedAttempt) {
    const auto p = policy({{"keep", json::array({"private"})}});
    const auto first = plan_egress(p, ptp_pod());
    // Only the first stage made it: keep routes + guards are there, eth0's default is not gone.
    auto half = ptp_pod();
    half.insert(half.end(), first.add_first.begin(), first.add_first.end());
    const auto second = plan_egress(p, half);
    EXPECT_TRUE(second.add_first.empty());
    EXPECT_EQ(second.remove.size(), 2U);
    // Everything but the net1 default made it, eth0's default already removed: the gateway is
    // found again from our own keep routes.
    auto most = applied(ptp_pod(), first);
    most.erase(
        std::remove_if(most.begin(), most.end(),
                       [](const RouteEntry& r) { return r.dev == "net1" && r.dst.is_default(); }),
        most.end());
    const auto third = plan_egress(p, most);
    EXPECT_EQ(net::to_string(*third.primary_gateway4), "10.1.1.1");
    EXPECT_EQ(described(third.add_last),
              (std::vector<std::string>{"default via 192.168.99.1 dev net1 metric 10"}));
}

TEST(EgressPlan, DeviceDefaultOnEth0GivesOnLinkKeepRoutes) {
    std::vector<RouteEntry> routes = {
        route("0.0.0.0/0", "", "eth0"),
        route("192.168.99.0/24", "", "net1", 0, kKernelRouteProtocol)};
    const auto p = policy({{"keep", json::array({"10.43.0.0/16"})}, {"ipv6", "allow"}});
    const auto plan = plan_egress(p, routes);
    ASSERT_FALSE(plan.add_first.empty());
    EXPECT_EQ(plan.add_first[0].describe(), "10.43.0.0/16 dev eth0 metric 0");
    EXPECT_EQ(plan.add_first[0].scope, kScopeLink);
}

TEST(EgressPlan, ExactErrors) {
    const auto p = policy({{"keep", json::array({"10.43.0.0/16"})}});
    // No default via eth0 at all.
    std::vector<RouteEntry> no_default = {route("192.168.99.0/24", "", "net1", 0, 2)};
    try {
        plan_egress(p, no_default);
        FAIL();
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.msg(),
                  "egress: cannot find eth0's IPv4 gateway: the pod has no IPv4 default route via "
                  "eth0 after the primary's ADD, and the keep prefixes (10.43.0.0/16) must be "
                  "routed through it");
    }
    // A keep prefix the IPAM of net1 already routes through the VPN.
    auto routes = ptp_pod();
    routes.push_back(route("10.43.0.0/16", "192.168.99.1", "net1"));
    try {
        plan_egress(p, routes);
        FAIL();
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.msg(),
                  "egress: cannot add \"10.43.0.0/16 via 10.1.1.1 dev eth0 metric 0\": the pod "
                  "already has \"10.43.0.0/16 via 192.168.99.1 dev net1 metric 0\" (check the keep "
                  "list and the IPAM routes of net1)");
    }
}

TEST(EgressCheck, ReportsEveryMissingPiece) {
    const auto p = policy({{"keep", json::array({"10.43.0.0/16"})}});
    const auto problems = check_egress(p, ptp_pod());
    EXPECT_EQ(problems,
              (std::vector<std::string>{
                  "keep prefix 10.43.0.0/16 is not routed via eth0",
                  "the IPv4 kill switch (unreachable default metric 11) is missing",
                  "the IPv6 kill switch (unreachable default metric 11) is missing",
                  "no IPv4 default route via 192.168.99.1 dev net1",
                  // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): long texts split on purpose
                  "route \"default via 10.1.1.1 dev eth0 metric 0\" lets traffic outside keep "
                  "leave via eth0",
                  "route \"10.1.1.0/24 via 10.1.1.1 dev eth0 metric 0\" lets traffic outside keep "
                  "leave via eth0",
                  "route \"default (v6) via fd00:1::1 dev eth0 metric 1024\" lets traffic outside "
                  "keep leave via eth0"}));
}

TEST(EgressDelete, OnlyOurRoutesDefaultsFirstGuardsLast) {
    const auto p = policy({{"keep", json::array({"private"})}});
    const auto routes = applied(ptp_pod(), plan_egress(p, ptp_pod()));
    const auto del = routes_to_delete(routes);
    EXPECT_EQ(described(del),
              (std::vector<std::string>{"default via 192.168.99.1 dev net1 metric 10",
                                        "10.0.0.0/8 via 10.1.1.1 dev eth0 metric 0",
                                        "172.16.0.0/12 via 10.1.1.1 dev eth0 metric 0",
                                        "192.168.0.0/16 via 10.1.1.1 dev eth0 metric 0",
                                        "unreachable default metric 11",
                                        "unreachable default (v6) metric 11"}));
}

}  // namespace
}  // namespace splitnet::egress
