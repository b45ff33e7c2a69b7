// `default-route` selections against a native macvlan egress policy: refused at plan time when
// they would send internet traffic around the VPN, remove its default route, or give the pod
// IPv6 the policy blocks. No root: pure plan checks.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/plan/default_route.hpp"
#include "splitnet/verbs/default_route.hpp"

namespace splitnet {
namespace {

using nlohmann::json;
using plan::Attachment;

using Gateways = std::optional<std::vector<std::string>>;

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

Attachment attachment(const std::string& ifname, const json& conf, Gateways gateways) {
    Attachment a;
    a.network = "media/" + ifname;
    a.ifname = ifname;
    a.is_primary = ifname == "eth0";
    a.config = conf.dump();
    if (!a.is_primary) {
        plan::Selection sel;
        sel.name = a.network;
        sel.default_route = std::move(gateways);
        a.selection = sel;
    }
    return a;
}

Attachment primary() {
    return attachment("eth0", {{"cniVersion", "1.0.0"}, {"name", "cluster"}, {"type", "ptp"}},
                      std::nullopt);
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
    EXPECT_EQ(refusal({primary(), attachment("net1", vpn_conf(json::object()),
                                             std::vector<std::string>{"192.168.99.1"})}),
              "");
}

TEST(DefaultRouteEgress, TheExplicitEgressGatewayWinsOverIpam) {
    const auto conf = vpn_conf({{"gateway", "192.168.99.254"}});
    EXPECT_EQ(
        refusal({primary(), attachment("net1", conf, std::vector<std::string>{"192.168.99.254"})}),
        "");
    EXPECT_NE(
        refusal({primary(), attachment("net1", conf, std::vector<std::string>{"192.168.99.1"})})
            .find("it lists 192.168.99.1 but the egress gateway is 192.168.99.254"),
        std::string::npos);
}

TEST(DefaultRouteEgress, AGatewayOnAnotherNetworkIsTheLeakAndRefused) {
    const auto message =
        refusal({primary(), attachment("net1", vpn_conf(json::object()), std::nullopt),
                 attachment("net2", {{"type", "bridge"}}, std::vector<std::string>{"10.9.0.1"})});
    EXPECT_NE(message.find("network \"media/net1\" (net1)"), std::string::npos) << message;
    EXPECT_NE(message.find("IPv4 default route via 10.9.0.1 on net2"), std::string::npos)
        << message;
    EXPECT_NE(message.find("\"default-route\": [\"192.168.99.1\"] on network \"media/net1\""),
              std::string::npos)
        << message;
}

TEST(DefaultRouteEgress, AnEmptyListWouldRemoveTheVpnRoute) {
    const auto message = refusal(
        {primary(), attachment("net1", vpn_conf(json::object()), std::vector<std::string>{})});
    EXPECT_NE(message.find("lists no IPv4 gateway for net1"), std::string::npos) << message;
}

TEST(DefaultRouteEgress, AnEmptyListOnAnotherNetworkAlsoRemovesIt) {
    EXPECT_NE(refusal({primary(), attachment("net1", vpn_conf(json::object()), std::nullopt),
                       attachment("net2", {{"type", "bridge"}}, std::vector<std::string>{})}),
              "");
}

TEST(DefaultRouteEgress, WithoutAKnownGatewayOnlyTheNetworkIsChecked) {
    // No egress.gateway and no IPAM gateway here: the egress setup fails on its own later; the
    // plan can only insist the gateway is listed on the egress network.
    EXPECT_EQ(refusal({primary(), attachment("net1", vpn_conf(json::object(), ""),
                                             std::vector<std::string>{"192.168.99.7"})}),
              "");
}

TEST(DefaultRouteEgress, BlockedIpv6MayNotComeBackThroughDefaultRoute) {
    const auto elsewhere = refusal(
        {primary(),
         attachment("net1", vpn_conf(json::object()), std::vector<std::string>{"192.168.99.1"}),
         attachment("net2", {{"type", "bridge"}}, std::vector<std::string>{"2001:db8::1"})});
    EXPECT_NE(elsewhere.find("IPv6 default route via 2001:db8::1 on net2"), std::string::npos)
        << elsewhere;
    const auto on_egress = refusal(
        {primary(), attachment("net1", vpn_conf(json::object()),
                               std::vector<std::string>{"192.168.99.1", "2001:db8:99::1"})});
    EXPECT_NE(on_egress.find("which the policy blocks"), std::string::npos) << on_egress;
}

TEST(DefaultRouteEgress, RoutedIpv6NeedsItsGatewayListedToo) {
    const auto conf = vpn_conf({{"ipv6", "route"}, {"gateway", json::array({"2001:db8:99::1"})}});
    EXPECT_NE(
        refusal({primary(), attachment("net1", conf, std::vector<std::string>{"192.168.99.1"})})
            .find("lists no IPv6 gateway for net1"),
        std::string::npos);
    EXPECT_EQ(refusal({primary(),
                       attachment("net1", conf,
                                  std::vector<std::string>{"192.168.99.1", "2001:db8:99::1"})}),
              "");
}

TEST(DefaultRouteEgress, AllowedIpv6IsNotTheEgressPolicysBusiness) {
    EXPECT_EQ(refusal({primary(),
                       attachment("net1", vpn_conf({{"ipv6", "allow"}}),
                                  std::vector<std::string>{"192.168.99.1"}),
                       attachment("net2", {{"type", "bridge"}},
                                  std::vector<std::string>{"2001:db8::1"})}),
              "");
}

TEST(DefaultRouteEgress, EgressInsideAConflistCounts) {
    const json conflist = {
        {"cniVersion", "1.0.0"},
        {"name", "vpn"},
        {"plugins", json::array({vpn_conf(json::object()), {{"type", "tuning"}}})}};
    EXPECT_NE(refusal({primary(), attachment("net1", conflist, std::vector<std::string>{})}), "");
}

TEST(DefaultRouteEgress, NetworksWithoutEgressKeepMultusBehaviour) {
    EXPECT_EQ(
        refusal({primary(), attachment("net1", {{"type", "macvlan"}}, std::vector<std::string>{})}),
        "");
}

}  // namespace
}  // namespace splitnet
