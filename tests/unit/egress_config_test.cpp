#include <string>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/egress/resolve.hpp"

namespace splitnet::egress {
namespace {

using nlohmann::json;

std::string error_of(const json& conf) {
    try {
        parse_egress_config(conf);
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        return e.msg();
    }
    return "no error";
}

json with_egress(const json& block) {
    return json{{"type", "macvlan"}, {"egress", block}};
}

TEST(EgressConfig, AbsentBlockMeansNoEgress) {
    EXPECT_FALSE(parse_egress_config(json{{"type", "macvlan"}}));
    EXPECT_FALSE(parse_egress_config(json{{"egress", nullptr}}));
}

TEST(EgressConfig, Defaults) {
    const auto conf = parse_egress_config(with_egress(json::object()));
    ASSERT_TRUE(conf);
    EXPECT_FALSE(conf->gateway4);
    ASSERT_EQ(conf->keep.size(), 1U);
    EXPECT_EQ(conf->keep[0].kind, KeepEntry::Kind::Cluster);
    EXPECT_EQ(conf->ipv6, Ipv6Policy::Block);
    EXPECT_EQ(conf->probe_gateway, GatewayProbe::Warn);
    EXPECT_TRUE(conf->probe_conflict);
}

TEST(EgressConfig, FullBlock) {
    const auto conf = parse_egress_config(
        with_egress({{"gateway", json::array({"192.168.99.1", "2001:db8:99::1"})},
                     {"keep", json::array({"cluster", "10.42.0.0/16", "private", "fd00::/8"})},
                     {"ipv6", "route"},
                     {"probeGateway", "require"},
                     {"probeConflict", false}}));
    ASSERT_TRUE(conf);
    EXPECT_EQ(net::to_string(*conf->gateway4), "192.168.99.1");
    EXPECT_EQ(net::to_string(*conf->gateway6), "2001:db8:99::1");
    ASSERT_EQ(conf->keep.size(), 4U);
    EXPECT_EQ(net::to_string(conf->keep[1].cidr), "10.42.0.0/16");
    EXPECT_EQ(conf->keep[2].kind, KeepEntry::Kind::Private);
    EXPECT_EQ(conf->ipv6, Ipv6Policy::Route);
    EXPECT_EQ(conf->probe_gateway, GatewayProbe::Require);
    EXPECT_FALSE(conf->probe_conflict);
}

TEST(EgressConfig, ProbeTargetIsATcpAddressAndPort) {
    const auto conf = parse_egress_config(with_egress({{"probeTarget", "tcp://1.1.1.1:443"}}));
    ASSERT_TRUE(conf && conf->probe_target);
    EXPECT_EQ(to_string(*conf->probe_target), "tcp://1.1.1.1:443");
    EXPECT_EQ(to_string(*parse_probe_target("tcp://[2001:db8::1]:8443")),
              "tcp://[2001:db8::1]:8443");
    for (const char* bad :
         {"1.1.1.1:443", "tcp://one.one.one.one:443", "tcp://1.1.1.1", "tcp://1.1.1.1:0",
          "tcp://1.1.1.1:65536", "tcp://1.1.1.1:044", "tcp://1.1.1.1:44x", "udp://1.1.1.1:53",
          "tcp://2001:db8::1:443", "tcp://[1.1.1.1]:443", "tcp://1.1.1.1/32:443"}) {
        EXPECT_FALSE(parse_probe_target(bad)) << bad;
    }
    EXPECT_EQ(error_of(with_egress({{"probeTarget", "tcp://vpn.example:443"}})),
              "egress.probeTarget: \"tcp://vpn.example:443\" is not tcp://ADDRESS:PORT, e.g. "
              "\"tcp://1.1.1.1:443\" (an IP address, never a host name)");
    EXPECT_EQ(
        error_of(with_egress({{"probeTarget", "tcp://[2001:db8::1]:443"}})),
        R"(egress.probeTarget: an IPv6 target (tcp://[2001:db8::1]:443) needs "ipv6": "route")");
    // Absent by default: nothing is probed through the tunnel.
    EXPECT_FALSE(parse_egress_config(with_egress(json::object()))->probe_target);
}

TEST(EgressConfig, ExactErrorsNameTheKey) {
    EXPECT_EQ(error_of(json{{"egress", "yes"}}), "egress: must be an object, got \"yes\"");
    EXPECT_EQ(error_of(with_egress({{"probegateway", "warn"}})),
              R"(egress: unknown key "probegateway" (did you mean "probeGateway"?))");
    EXPECT_EQ(error_of(with_egress({{"gateways", "1.2.3.4"}})),
              "egress: unknown key \"gateways\" (known keys: gateway, keep, ipv6, probeGateway, "
              "probeConflict, probeTarget, dns)");
    EXPECT_EQ(error_of(with_egress({{"gateway", "192.168.99"}})),
              "egress.gateway: \"192.168.99\" is not an IP address");
    EXPECT_EQ(error_of(with_egress({{"gateway", 5}})), "egress.gateway: must be a string, got 5");
    EXPECT_EQ(error_of(with_egress({{"gateway", json::array({"1.1.1.1", "2.2.2.2"})}})),
              "egress.gateway[1]: more than one IPv4 gateway");
    EXPECT_EQ(error_of(with_egress({{"gateway", "2001:db8::1"}})),
              R"(egress.gateway: an IPv6 gateway (2001:db8::1) needs "ipv6": "route")");
    EXPECT_EQ(error_of(with_egress({{"keep", "private"}})),
              "egress.keep: must be a list of presets or CIDRs, got \"private\"");
    EXPECT_EQ(error_of(with_egress({{"keep", json::array({"private", "clustr"})}})),
              R"(egress.keep[1]: "clustr" is neither a preset ("cluster", "private") nor a )"
              "CIDR such as \"10.42.0.0/16\"");
    EXPECT_EQ(error_of(with_egress({{"keep", json::array({"10.42.1.0/16"})}})),
              R"(egress.keep[0]: "10.42.1.0/16" has host bits set; did you mean "10.42.0.0/16"?)");
    EXPECT_EQ(error_of(with_egress({{"keep", json::array({"0.0.0.0/0"})}})),
              "egress.keep[0]: \"0.0.0.0/0\" would keep everything on the primary interface; "
              "remove the egress block instead");
    EXPECT_EQ(error_of(with_egress({{"ipv6", "deny"}})),
              R"(egress.ipv6: "deny" is not one of "block", "allow", "route")");
    EXPECT_EQ(error_of(with_egress({{"probeGateway", "on"}})),
              R"(egress.probeGateway: "on" is not one of "off", "warn", "require")");
    EXPECT_EQ(error_of(with_egress({{"probeConflict", "true"}})),
              "egress.probeConflict: must be true or false, got \"true\"");
}

TEST(SplitnetContext, AbsentMeansStandalone) {
    const auto ctx = parse_splitnet_context(json::object());
    EXPECT_FALSE(ctx.present);
    EXPECT_EQ(ctx.primary_ifname, "eth0");
    EXPECT_TRUE(ctx.cluster_cidrs.empty());
}

TEST(SplitnetContext, ReadsClusterCidrsAndPrimaryResult) {
    const json conf = {
        {"splitnetContext",
         {{"clusterCIDRs", json::array({"10.42.0.0/16", "10.43.0.0/16"})},
          {"primaryIfname", "eth0"},
          {"primaryResult",
           {{"cniVersion", "1.0.0"},
            {"ips", json::array({{{"address", "10.1.1.2/24"}, {"gateway", "10.1.1.1"}},
                                 {{"address", "fd00:1::2/64"}}})},
            {"routes", json::array({{{"dst", "0.0.0.0/0"}},
                                    {{"dst", "10.96.0.0/12"}, {"gw", "10.1.1.1"}},
                                    {{"dst", "10.42.0.0/16"}}})}}}}}};
    const auto ctx = parse_splitnet_context(conf);
    EXPECT_TRUE(ctx.present);
    std::vector<std::string> got;
    for (const auto& p : ctx.cluster_cidrs) {
        got.push_back(net::to_string(p));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"10.42.0.0/16", "10.43.0.0/16", "10.1.1.0/24",
                                             "fd00:1::/64", "10.96.0.0/12"}));
}

TEST(SplitnetContext, MalformedContextNamesTheKey) {
    try {
        parse_splitnet_context(
            json{{"splitnetContext",
                  {{"primaryResult", {{"ips", json::array({{{"address", "x"}}})}}}}}});
        FAIL();
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.msg(), "splitnetContext.primaryResult.ips[0].address: \"x\" is not a CIDR");
    }
}

// The step of a split ADD (verbs/run.cpp) is read only in a config with an egress block: the
// meta plugin replaces the whole context of those, so a NAD never chooses it.
TEST(SplitnetContext, EgressStepIsReadOnlyWithAnEgressBlock) {
    const auto with_step = [](const json& step, bool egress) {
        json conf = {{"type", "macvlan"}, {"splitnetContext", {{"egressStep", step}}}};
        if (egress) {
            conf["egress"] = json::object();
        }
        return conf;
    };
    EXPECT_EQ(parse_egress_step(with_step("policy", false)), EgressStep::Whole);
    EXPECT_EQ(parse_egress_step(with_egress(json::object())), EgressStep::Whole);
    EXPECT_EQ(parse_egress_step(with_step(nullptr, true)), EgressStep::Whole);
    EXPECT_EQ(parse_egress_step(with_step("beforePolicy", true)), EgressStep::BeforePolicy);
    EXPECT_EQ(parse_egress_step(with_step("policy", true)), EgressStep::PolicyOnly);
    try {
        parse_egress_step(with_step("links", true));
        FAIL();
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        EXPECT_EQ(e.msg(),
                  R"(splitnetContext.egressStep: "links" is not "beforePolicy" or "policy")");
    }
}

// --- resolve ---

std::vector<cni::IpConfig> net1_ips(std::string gateway = "192.168.99.1") {
    return {cni::IpConfig{"192.168.99.99/24", std::move(gateway), 2}};
}

std::string resolve_error(const json& block, const std::vector<cni::IpConfig>& ips,
                          const SplitnetContext& ctx = {}) {
    try {
        resolve_egress(*parse_egress_config(with_egress(block)), ctx, "net1", ips);
    } catch (const cni::Error& e) {
        return e.msg();
    }
    return "no error";
}

std::vector<std::string> texts(const std::vector<net::IpNet>& list) {
    std::vector<std::string> out;
    out.reserve(list.size());
    for (const auto& p : list) {
        out.push_back(net::to_string(p));
    }
    return out;
}

TEST(EgressResolve, GatewayDefaultsToIpamGatewayOfSameFamily) {
    std::vector<cni::IpConfig> ips = {{"2001:db8:99::5/64", "2001:db8:99::1", 2},
                                      {"192.168.99.99/24", "192.168.99.254", 2}};
    const auto r =
        resolve_egress(*parse_egress_config(with_egress({{"ipv6", "route"}})), {}, "net1", ips);
    EXPECT_EQ(net::to_string(r.gateway4), "192.168.99.254");
    ASSERT_TRUE(r.gateway6);
    EXPECT_EQ(net::to_string(*r.gateway6), "2001:db8:99::1");
    EXPECT_EQ(r.managed_families(), (std::vector{net::Family::V4, net::Family::V6}));
}

TEST(EgressResolve, ExplicitGatewayWins) {
    const auto r = resolve_egress(
        *parse_egress_config(with_egress({{"gateway", "192.168.99.2"}, {"ipv6", "allow"}})), {},
        "net1", net1_ips());
    EXPECT_EQ(net::to_string(r.gateway4), "192.168.99.2");
    EXPECT_EQ(r.managed_families(), (std::vector{net::Family::V4}));
}

TEST(EgressResolve, KeepPresetsExpandAndCollapse) {
    SplitnetContext ctx;
    ctx.present = true;
    ctx.cluster_cidrs = {*net::parse_cidr("10.42.0.0/16"), *net::parse_cidr("10.43.0.0/16"),
                         *net::parse_cidr("100.64.0.0/10"), *net::parse_cidr("fd00:42::/64")};
    const auto r = resolve_egress(
        *parse_egress_config(with_egress(
            {{"keep", json::array({"cluster", "private", "192.168.5.0/24", "10.42.0.0/16"})}})),
        ctx, "net1", net1_ips());
    EXPECT_EQ(texts(r.keep),
              (std::vector<std::string>{"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12",
                                        "192.168.0.0/16", "fd00:42::/64"}));
    EXPECT_EQ(texts(r.keep_of(net::Family::V6)), (std::vector<std::string>{"fd00:42::/64"}));
}

TEST(EgressResolve, ClusterWithoutContextIsEmpty) {
    const auto r = resolve_egress(
        *parse_egress_config(with_egress({{"keep", json::array({"cluster", "10.43.0.0/16"})}})), {},
        "net1", net1_ips());
    EXPECT_EQ(texts(r.keep), (std::vector<std::string>{"10.43.0.0/16"}));
}

TEST(EgressResolve, ExactErrors) {
    EXPECT_EQ(resolve_error(json::object(), net1_ips("")),
              "egress.gateway: no IPv4 gateway: set egress.gateway or give net1's IPv4 address a "
              "gateway in ipam");
    EXPECT_EQ(resolve_error({{"gateway", "192.168.98.1"}}, net1_ips()),
              "egress.gateway: 192.168.98.1 is not inside any IPv4 subnet of net1 "
              "(192.168.99.99/24); the VPN gateway must be on the macvlan segment");
    EXPECT_EQ(resolve_error({{"gateway", "192.168.99.99"}}, net1_ips()),
              "egress.gateway: 192.168.99.99 is net1's own address");
    EXPECT_EQ(resolve_error(json::object(), {{"2001:db8::5/64", "2001:db8::1", 2}}),
              "egress: net1 has no IPv4 address; the egress network needs a static IPv4 address "
              "(ipam addresses or the pod's \"ips\")");
    EXPECT_EQ(resolve_error({{"ipv6", "route"}}, net1_ips()),
              "egress.ipv6: \"route\" needs an IPv6 gateway: add one to egress.gateway or to "
              "net1's IPv6 address in ipam");
    EXPECT_EQ(resolve_error({{"ipv6", "route"}, {"gateway", json::array({"fe80::1"})}}, net1_ips()),
              "egress.ipv6: \"route\" needs an IPv6 address on net1");
    EXPECT_EQ(resolve_error({{"keep", json::array({"192.168.99.0/25"})}}, net1_ips()),
              "egress.keep: 192.168.99.0/25 lies inside net1's subnet 192.168.99.0/24; keep "
              "prefixes must not cover the VPN segment");
}

TEST(EgressResolve, LinkLocalV6GatewayIsAccepted) {
    std::vector<cni::IpConfig> ips = {{"192.168.99.99/24", "192.168.99.1", 2},
                                      {"2001:db8:99::5/64", "", 2}};
    const auto r = resolve_egress(
        *parse_egress_config(with_egress({{"ipv6", "route"}, {"gateway", "fe80::1"}})), {}, "net1",
        ips);
    EXPECT_EQ(net::to_string(*r.gateway6), "fe80::1");
}

}  // namespace
}  // namespace splitnet::egress
