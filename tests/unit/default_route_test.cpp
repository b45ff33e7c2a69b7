// The `default-route` selection key: gateway validation, per-attachment filtering (Multus
// CheckGatewayConfig) and the stored-result rewrite. No root: nothing here touches a netns.
#include "splitnet/plan/default_route.hpp"

#include <filesystem>
#include <map>
#include <unistd.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/verbs/default_route.hpp"
#include "splitnet/verbs/dispatch.hpp"

namespace splitnet {
namespace {

using nlohmann::json;
using plan::Attachment;
using plan::DefaultRouteAction;

Attachment attachment(std::string ifname, std::optional<std::vector<std::string>> gateways,
                      bool with_selection = true) {
    Attachment a;
    a.network = "ns/" + ifname;
    a.ifname = std::move(ifname);
    a.is_primary = a.ifname == "eth0";
    if (with_selection) {
        plan::Selection sel;
        sel.name = a.network;
        sel.default_route = std::move(gateways);
        a.selection = sel;
    }
    return a;
}

Attachment primary() {
    return attachment("eth0", std::nullopt, /*with_selection=*/false);
}

unsigned error_code_of(const std::vector<Attachment>& attachments, std::string* msg) {
    try {
        plan::plan_default_routes(attachments);
    } catch (const cni::Error& e) {
        *msg = e.what();
        return e.code();
    }
    return 0;
}

TEST(DefaultRoutePlan, WithoutTheKeyNothingIsTouched) {
    EXPECT_FALSE(plan::plan_default_routes({primary(), attachment("net1", std::nullopt)}));
    EXPECT_FALSE(plan::plan_default_routes({primary()}));
}

TEST(DefaultRoutePlan, OneV4GatewayFiltersEveryOtherAttachmentAndItsOwnV6) {
    const auto actions = plan::plan_default_routes(
        {primary(), attachment("net1", std::vector<std::string>{"192.0.2.1"}),
         attachment("net2", std::nullopt)});
    ASSERT_TRUE(actions);
    ASSERT_EQ(actions->size(), 3U);
    const auto& eth0 = (*actions)[0];
    EXPECT_EQ(eth0.ifname, "eth0");
    EXPECT_TRUE(eth0.filter_v4);
    EXPECT_TRUE(eth0.filter_v6);
    EXPECT_FALSE(eth0.gateway_v4);
    const auto& net1 = (*actions)[1];
    EXPECT_FALSE(net1.filter_v4);
    EXPECT_TRUE(net1.filter_v6);
    EXPECT_EQ(net1.gateway_v4, "192.0.2.1");
    EXPECT_FALSE(net1.gateway_v6);
    // The chosen interface's own old default routes go too: ours replaces them.
    EXPECT_TRUE(net1.clears(net::Family::V4));
    EXPECT_TRUE(net1.clears(net::Family::V6));
    const auto& net2 = (*actions)[2];
    EXPECT_TRUE(net2.filter_v4 && net2.filter_v6);
    EXPECT_FALSE(net2.gateway_v4 || net2.gateway_v6);
}

TEST(DefaultRoutePlan, EmptyListRemovesEveryDefaultRoute) {
    const auto actions =
        plan::plan_default_routes({primary(), attachment("net1", std::vector<std::string>{})});
    ASSERT_TRUE(actions);
    for (const auto& action : *actions) {
        EXPECT_TRUE(action.clears(net::Family::V4) && action.clears(net::Family::V6))
            << action.ifname;
        EXPECT_FALSE(action.gateway_v4 || action.gateway_v6) << action.ifname;
    }
}

TEST(DefaultRoutePlan, OneV4AndOneV6AreAllowedOnDifferentOrTheSameAttachment) {
    auto actions = plan::plan_default_routes(
        {primary(), attachment("net1", std::vector<std::string>{"192.0.2.1"}),
         attachment("net2", std::vector<std::string>{"2001:DB8::0001"})});
    ASSERT_TRUE(actions);
    EXPECT_EQ((*actions)[1].gateway_v4, "192.0.2.1");
    EXPECT_TRUE((*actions)[1].filter_v6);
    EXPECT_EQ((*actions)[2].gateway_v6, "2001:db8::1");  // canonical form
    EXPECT_TRUE((*actions)[2].filter_v4);
    EXPECT_FALSE((*actions)[2].filter_v6);

    actions = plan::plan_default_routes(
        {primary(), attachment("net1", std::vector<std::string>{"2001:db8::1", "192.0.2.1"})});
    ASSERT_TRUE(actions);
    EXPECT_FALSE((*actions)[1].filter_v4 || (*actions)[1].filter_v6);
    EXPECT_TRUE((*actions)[0].filter_v4 && (*actions)[0].filter_v6);
}

TEST(DefaultRoutePlan, PrimaryWithASelectionMayKeepItsGateway) {
    // The default-network annotation gives the primary a selection of its own.
    const auto actions =
        plan::plan_default_routes({attachment("eth0", std::vector<std::string>{"10.0.0.1"}),
                                   attachment("net1", std::vector<std::string>{})});
    ASSERT_TRUE(actions);
    EXPECT_FALSE((*actions)[0].filter_v4);
    EXPECT_EQ((*actions)[0].gateway_v4, "10.0.0.1");
    EXPECT_TRUE((*actions)[1].filter_v4);
}

TEST(DefaultRoutePlan, TwoGatewaysOfOneFamilyAreEcmpAndRejected) {
    std::string msg;
    EXPECT_EQ(error_code_of({primary(), attachment("net1", std::vector<std::string>{"192.0.2.1"}),
                             attachment("net2", std::vector<std::string>{"198.51.100.1"})},
                            &msg),
              7U);
    EXPECT_EQ(msg.rfind("multus does not support ECMP for default-route", 0), 0U) << msg;
    EXPECT_NE(msg.find("192.0.2.1 (net1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("198.51.100.1 (net2"), std::string::npos) << msg;

    // Counted per listed entry, as Multus: the same gateway twice is two.
    EXPECT_EQ(
        error_code_of(
            {primary(), attachment("net1", std::vector<std::string>{"192.0.2.1", "192.0.2.1"})},
            &msg),
        7U);
    EXPECT_EQ(error_code_of({primary(), attachment("net1", std::vector<std::string>{"2001:db8::1"}),
                             attachment("net2", std::vector<std::string>{"2001:db8::2"})},
                            &msg),
              7U);
    EXPECT_NE(msg.find("IPv6"), std::string::npos) << msg;
    // An IPv4-mapped address is IPv4 (Go's To4()).
    EXPECT_EQ(error_code_of({primary(), attachment("net1", std::vector<std::string>{"192.0.2.1"}),
                             attachment("net2", std::vector<std::string>{"::ffff:192.0.2.9"})},
                            &msg),
              7U);
}

TEST(DefaultRoutePlan, GarbageGatewayIsAConfigError) {
    std::string msg;
    EXPECT_EQ(
        error_code_of({primary(), attachment("net1", std::vector<std::string>{"gw.local"})}, &msg),
        7U);
    EXPECT_NE(msg.find("gw.local"), std::string::npos) << msg;
}

// --- stored results -----------------------------------------------------------------------

DefaultRouteAction filtered(const std::string& ifname) {
    DefaultRouteAction a;
    a.ifname = ifname;
    a.filter_v4 = true;
    a.filter_v6 = true;
    return a;
}

DefaultRouteAction chosen_v4(const std::string& ifname, const std::string& gw) {
    auto a = filtered(ifname);
    a.filter_v4 = false;
    a.gateway_v4 = gw;
    return a;
}

TEST(DefaultRouteResult, FilteredAttachmentLosesItsDefaultRoutesOnly) {
    auto result = json::parse(R"({"cniVersion":"1.0.0","custom":{"kept":true},
        "interfaces":[{"name":"eth0","sandbox":"/ns"}],
        "ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":0}],
        "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"10.96.0.0/12","gw":"10.1.0.1"},
                  {"dst":"::0/0","gw":"fd00::1"},{"dst":"0.0.0.0/1"},{"dst":"::/0"}]})");
    verbs::rewrite_default_routes(result, filtered("eth0"));
    EXPECT_EQ(result["routes"],
              json::parse(R"([{"dst":"10.96.0.0/12","gw":"10.1.0.1"},{"dst":"0.0.0.0/1"}])"));
    // The IP's gateway field and unknown keys stay as the plugin wrote them (Multus does too).
    EXPECT_EQ(result["ips"][0]["gateway"], "10.1.0.1");
    EXPECT_EQ(result["custom"]["kept"], true);
}

TEST(DefaultRouteResult, OnlyClearedFamiliesAreDropped) {
    auto result = json::parse(R"({"cniVersion":"0.4.0","ips":[],
        "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"::/0","gw":"fd00::1"}]})");
    auto action = filtered("eth0");
    action.filter_v6 = false;  // as if eth0 had asked for an IPv6 gateway elsewhere decided
    action.gateway_v6.reset();
    verbs::rewrite_default_routes(result, action);
    EXPECT_EQ(result["routes"], json::parse(R"([{"dst":"::/0","gw":"fd00::1"}])"));
}

TEST(DefaultRouteResult, ChosenAttachmentGetsExactlyTheRequestedGateway) {
    auto result = json::parse(R"({"cniVersion":"0.3.1",
        "interfaces":[{"name":"net1","sandbox":"/ns"}],
        "ips":[{"version":"4","address":"192.0.2.10/24","interface":0}],
        "routes":[{"dst":"0.0.0.0/0","gw":"192.0.2.254"},{"dst":"198.51.100.0/24"}]})");
    auto action = chosen_v4("net1", "192.0.2.1");
    action.gateway_v6 = "2001:db8::1";
    action.filter_v6 = false;
    verbs::rewrite_default_routes(result, action);
    EXPECT_EQ(result["routes"], json::parse(R"([{"dst":"198.51.100.0/24"},
        {"dst":"0.0.0.0/0","gw":"192.0.2.1"},{"dst":"::/0","gw":"2001:db8::1"}])"));

    auto bare = json::parse(R"({"cniVersion":"1.1.0","ips":[{"address":"192.0.2.10/24"}]})");
    verbs::rewrite_default_routes(bare, chosen_v4("net1", "192.0.2.1"));
    EXPECT_EQ(bare["routes"], json::parse(R"([{"dst":"0.0.0.0/0","gw":"192.0.2.1"}])"));
}

TEST(DefaultRouteResult, LegacyResultsEditTheirFamilyBlocks) {
    auto result = json::parse(R"({"cniVersion":"0.2.0",
        "ip4":{"ip":"192.0.2.10/24","routes":[{"dst":"0.0.0.0/0","gw":"192.0.2.254"},
                                              {"dst":"203.0.113.0/24"}]},
        "ip6":{"ip":"2001:db8::10/64","routes":[{"dst":"::/0"}]}})");
    verbs::rewrite_default_routes(result, chosen_v4("net1", "192.0.2.1"));
    EXPECT_EQ(result["ip4"]["routes"], json::parse(R"([{"dst":"203.0.113.0/24"},
        {"dst":"0.0.0.0/0","gw":"192.0.2.1"}])"));
    EXPECT_EQ(result["ip6"]["routes"], json::array());
    EXPECT_FALSE(result.contains("routes"));
}

TEST(DefaultRouteResult, NullResultIsLeftAlone) {
    json result;
    verbs::rewrite_default_routes(result, chosen_v4("net1", "192.0.2.1"));
    EXPECT_TRUE(result.is_null());
}

// --- ADD refuses ECMP before any work ---------------------------------------------------

class CountingInvoker final : public delegate::PluginInvoker {
public:
    std::string invoke(const delegate::PluginCall& /*call*/) override {
        ++calls;
        throw cni::Error(cni::ErrorCode::Other, "no plugin may run in this test");
    }

    int calls = 0;
};

class EcmpSource final : public verbs::NetworkSource {
public:
    std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& /*conf*/,
                                                    const cni::Request& /*request*/) override {
        std::vector<plan::DelegateSpec> specs(3);
        specs[0].name = "cluster";
        specs[0].config = R"({"cniVersion":"1.0.0","name":"cluster","type":"ptp"})";
        specs[0].is_primary = true;
        for (std::size_t i = 1; i < 3; ++i) {
            specs[i].name = "media/vpn" + std::to_string(i);
            specs[i].config = R"({"cniVersion":"1.0.0","name":"vpn)" + std::to_string(i) +
                              R"(","type":"macvlan"})";
            plan::Selection sel;
            sel.name = "vpn" + std::to_string(i);
            sel.namespace_ = "media";
            sel.default_route = std::vector<std::string>{"192.0.2." + std::to_string(i)};
            specs[i].selection = sel;
        }
        return specs;
    }

    std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                     const cni::Request& request) override {
        return resolve_for_add(conf, request);
    }
};

TEST(DefaultRouteAdd, EcmpFailsBeforeAnyPluginRunsOrStateIsWritten) {
    namespace fs = std::filesystem;
    const auto dir =
        fs::temp_directory_path() / ("splitnet-defroute-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::map<std::string, std::string> env = {{"CNI_COMMAND", "ADD"},
                                                    {"CNI_CONTAINERID", "ctr-ecmp"},
                                                    {"CNI_NETNS", "/proc/self/ns/net"},
                                                    {"CNI_NETNS_OVERRIDE", "1"},
                                                    {"CNI_IFNAME", "eth0"},
                                                    {"CNI_PATH", "/nonexistent"}};
    const std::string conf = R"({"cniVersion":"1.0.0","name":"podnet","cniDir":")" +
                             (dir / "state").string() +
                             R"(","delegates":[{"name":"cluster","type":"ptp"}]})";
    std::string out;
    verbs::Io io;
    io.getenv = [&](std::string_view key) -> std::optional<std::string> {
        const auto it = env.find(std::string(key));
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    io.read_stdin = [&] { return std::string(conf); };  // a copy per read, as stdin would be
    io.write_stdout = [&](std::string_view data) { out += data; };
    io.write_stderr = [](std::string_view) {};
    CountingInvoker invoker;
    verbs::Adapters adapters{invoker, invoker, [] { return std::make_unique<EcmpSource>(); }};
    EXPECT_NE(verbs::run(io, adapters), 0);
    const auto error = json::parse(out);
    EXPECT_EQ(error["code"], 7) << out;
    EXPECT_EQ(error["msg"].get<std::string>().rfind("multus does not support ECMP", 0), 0U) << out;
    EXPECT_EQ(invoker.calls, 0);
    EXPECT_FALSE(store::StateStore((dir / "state").string()).load({"ctr-ecmp", "eth0"}));
    fs::remove_all(dir);
}

// `default-route` against a native macvlan egress policy (verbs::check_default_routes_keep_egress):
// refused at plan time when it would send internet traffic around the VPN, remove its default
// route, or give the pod IPv6 the policy blocks.

Attachment with_config(Attachment a, const json& conf) {
    a.config = conf.dump();
    return a;
}

json vpn_conf(const json& egress, const std::string& ipam_gateway = "192.168.99.1") {
    json address = {{"address", "192.168.99.99/24"}};
    if (!ipam_gateway.empty()) {
        address["gateway"] = ipam_gateway;
    }
    return {{"cniVersion", "1.0.0"},
            {"name", "vpn"},
            {"type", "macvlan"},
            {"master", "eth1"},
            {"ipam", {{"type", "static"}, {"addresses", json::array({address})}}},
            {"egress", egress}};
}

// The message of the refusal, "" when the selection is accepted.
std::string refusal(const std::vector<Attachment>& attachments) {
    const auto actions = plan::plan_default_routes(attachments);
    if (!actions) {
        return "";
    }
    try {
        verbs::check_default_routes_keep_egress(attachments, *actions);
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        return e.msg();
    }
    return "";
}

TEST(DefaultRouteEgress, TheEgressGatewayOnTheEgressNetworkIsAccepted) {
    EXPECT_EQ(refusal({primary(),
                       with_config(attachment("net1", std::vector<std::string>{"192.168.99.1"}),
                                   vpn_conf(json::object()))}),
              "");
}

TEST(DefaultRouteEgress, TheExplicitEgressGatewayWinsOverIpam) {
    const auto conf = vpn_conf({{"gateway", "192.168.99.254"}});
    EXPECT_EQ(refusal({primary(),
                       with_config(attachment("net1", std::vector<std::string>{"192.168.99.254"}),
                                   conf)}),
              "");
    EXPECT_NE(
        refusal({primary(),
                 with_config(attachment("net1", std::vector<std::string>{"192.168.99.1"}), conf)})
            .find("it lists 192.168.99.1 but the egress gateway is 192.168.99.254"),
        std::string::npos);
}

TEST(DefaultRouteEgress, AGatewayOnAnotherNetworkIsTheLeakAndRefused) {
    const auto message =
        refusal({primary(), with_config(attachment("net1", std::nullopt), vpn_conf(json::object())),
                 with_config(attachment("net2", std::vector<std::string>{"10.9.0.1"}),
                             {{"type", "bridge"}})});
    EXPECT_NE(message.find("network \"ns/net1\" (net1)"), std::string::npos) << message;
    EXPECT_NE(message.find("IPv4 default route via 10.9.0.1 on net2"), std::string::npos)
        << message;
    EXPECT_NE(message.find("\"default-route\": [\"192.168.99.1\"] on network \"ns/net1\""),
              std::string::npos)
        << message;
}

TEST(DefaultRouteEgress, AnEmptyListWouldRemoveTheVpnRoute) {
    const auto message =
        refusal({primary(), with_config(attachment("net1", std::vector<std::string>{}),
                                        vpn_conf(json::object()))});
    EXPECT_NE(message.find("lists no IPv4 gateway for net1"), std::string::npos) << message;
}

TEST(DefaultRouteEgress, AnEmptyListOnAnotherNetworkAlsoRemovesIt) {
    EXPECT_NE(
        refusal(
            {primary(), with_config(attachment("net1", std::nullopt), vpn_conf(json::object())),
             with_config(attachment("net2", std::vector<std::string>{}), {{"type", "bridge"}})}),
        "");
}

TEST(DefaultRouteEgress, WithoutAKnownGatewayOnlyTheNetworkIsChecked) {
    // No egress.gateway and no IPAM gateway here: the egress setup fails on its own later; the
    // plan can only insist the gateway is listed on the egress network.
    EXPECT_EQ(refusal({primary(),
                       with_config(attachment("net1", std::vector<std::string>{"192.168.99.7"}),
                                   vpn_conf(json::object(), ""))}),
              "");
}

TEST(DefaultRouteEgress, BlockedIpv6MayNotComeBackThroughDefaultRoute) {
    const auto elsewhere =
        refusal({primary(),
                 with_config(attachment("net1", std::vector<std::string>{"192.168.99.1"}),
                             vpn_conf(json::object())),
                 with_config(attachment("net2", std::vector<std::string>{"2001:db8::1"}),
                             {{"type", "bridge"}})});
    EXPECT_NE(elsewhere.find("IPv6 default route via 2001:db8::1 on net2"), std::string::npos)
        << elsewhere;
    const auto on_egress = refusal(
        {primary(),
         with_config(attachment("net1", std::vector<std::string>{"192.168.99.1", "2001:db8:99::1"}),
                     vpn_conf(json::object()))});
    EXPECT_NE(on_egress.find("which the policy blocks"), std::string::npos) << on_egress;
}

TEST(DefaultRouteEgress, RoutedIpv6NeedsItsGatewayListedToo) {
    const auto conf = vpn_conf({{"ipv6", "route"}, {"gateway", json::array({"2001:db8:99::1"})}});
    EXPECT_NE(
        refusal({primary(),
                 with_config(attachment("net1", std::vector<std::string>{"192.168.99.1"}), conf)})
            .find("lists no IPv6 gateway for net1"),
        std::string::npos);
    EXPECT_EQ(refusal({primary(),
                       with_config(attachment("net1", std::vector<std::string>{"192.168.99.1",
                                                                               "2001:db8:99::1"}),
                                   conf)}),
              "");
}

TEST(DefaultRouteEgress, AllowedIpv6IsNotTheEgressPolicysBusiness) {
    EXPECT_EQ(refusal({primary(),
                       with_config(attachment("net1", std::vector<std::string>{"192.168.99.1"}),
                                   vpn_conf({{"ipv6", "allow"}})),
                       with_config(attachment("net2", std::vector<std::string>{"2001:db8::1"}),
                                   {{"type", "bridge"}})}),
              "");
}

TEST(DefaultRouteEgress, EgressInsideAConflistCounts) {
    const json conflist = {
        {"cniVersion", "1.0.0"},
        {"name", "vpn"},
        {"plugins", json::array({vpn_conf(json::object()), {{"type", "tuning"}}})}};
    EXPECT_NE(
        refusal({primary(), with_config(attachment("net1", std::vector<std::string>{}), conflist)}),
        "");
}

TEST(DefaultRouteEgress, NetworksWithoutEgressKeepMultusBehaviour) {
    EXPECT_EQ(refusal({primary(), with_config(attachment("net1", std::vector<std::string>{}),
                                              {{"type", "macvlan"}})}),
              "");
}

}  // namespace
}  // namespace splitnet
