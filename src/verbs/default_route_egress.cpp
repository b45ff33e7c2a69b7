// `default-route` against egress policies: refused at plan time when it would undo one.
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "splitnet/attach/egress_config.hpp"
#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/verbs/default_route.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// An attachment's egress policy with the gateways it will use, where the config says them.
struct EgressIntent {
    attach::EgressConfig config;
    std::optional<std::string> gateway4;  ///< canonical; nullopt when only IPAM knows it
    std::optional<std::string> gateway6;
};

// The first gateway of `family` among a static IPAM's addresses, as the egress setup picks it.
std::optional<std::string> static_ipam_gateway(const json& plugin, net::Family family) {
    const auto ipam = plugin.find("ipam");
    if (ipam == plugin.end() || !ipam->is_object() || ipam->value("type", "") != "static") {
        return std::nullopt;
    }
    const auto addresses = ipam->find("addresses");
    if (addresses == ipam->end() || !addresses->is_array()) {
        return std::nullopt;
    }
    for (const auto& entry : *addresses) {
        if (!entry.is_object() || !entry.contains("gateway") || !entry["gateway"].is_string()) {
            continue;
        }
        const auto gw = net::parse_ip(entry["gateway"].get<std::string>());
        if (gw && gw->family == family) {
            return net::to_string(*gw);
        }
    }
    return std::nullopt;
}

std::optional<EgressIntent> egress_intent(const plan::Attachment& attachment) {
    const auto conf = util::try_parse_json_bounded(
                          attachment.config, {util::kMaxConfigBytes, util::kMaxComposedJsonDepth})
                          .value_or(json());
    if (!conf.is_object()) {
        return std::nullopt;
    }
    // The plugins ADD runs (delegate::parse_network_config decides the same way).
    const json candidates = util::network_config_shape(conf) == util::NetworkConfigShape::ConfList
                                ? *util::find_key_go(conf, "plugins")
                                : json::array({conf});
    for (const auto& plugin : candidates) {
        if (!plugin.is_object() || !attach::is_native_type(plugin.value("type", ""))) {
            continue;
        }
        const auto config = attach::parse_egress_config(plugin);
        if (!config) {
            continue;
        }
        EgressIntent intent{*config, std::nullopt, std::nullopt};
        intent.gateway4 = config->gateway4 ? net::to_string(*config->gateway4)
                                           : static_ipam_gateway(plugin, net::Family::V4);
        intent.gateway6 = config->gateway6 ? net::to_string(*config->gateway6)
                                           : static_ipam_gateway(plugin, net::Family::V6);
        return intent;
    }
    return std::nullopt;
}

[[noreturn]] void refuse(const plan::Attachment& egress, const std::string& why,
                         const std::string& instead) {
    throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                     fmt::format("\"default-route\" conflicts with the egress policy of network "
                                 "\"{}\" ({}): {}; {}",
                                 egress.network, egress.ifname, why, instead));
}

std::string list_hint(const plan::Attachment& egress, const std::optional<std::string>& gateway) {
    return fmt::format(R"(put "default-route": ["{}"] on network "{}" or drop the key)",
                       gateway.value_or("<its egress gateway>"), egress.network);
}

void check_family(const std::vector<plan::Attachment>& attachments,
                  const std::vector<plan::DefaultRouteAction>& actions, std::size_t egress_index,
                  const EgressIntent& intent, net::Family family) {
    const auto& egress = attachments[egress_index];
    const auto gateway_of = [family](const plan::DefaultRouteAction& action) {
        return family == net::Family::V4 ? action.gateway_v4 : action.gateway_v6;
    };
    const auto& egress_gateway = family == net::Family::V4 ? intent.gateway4 : intent.gateway6;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const auto gateway = gateway_of(actions[i]);
        if (i != egress_index && gateway) {
            refuse(egress,
                   fmt::format("an {} default route via {} on {} (network \"{}\") would send "
                               "the pod's internet traffic around the VPN",
                               net::family_name(family), *gateway, attachments[i].ifname,
                               attachments[i].network),
                   list_hint(egress, egress_gateway));
        }
    }
    // IPv6 under "block": no default at all, and none of the egress network's own to lose (the
    // guard has no interface, so default-route leaves it alone).
    if (family == net::Family::V6 && intent.config.ipv6 == attach::Ipv6Policy::Block) {
        if (const auto listed = gateway_of(actions[egress_index])) {
            refuse(egress,
                   fmt::format("an IPv6 default route via {} would give the pod IPv6, which the "
                               "policy blocks (\"ipv6\": \"block\")",
                               *listed),
                   R"(drop the IPv6 gateway, or set "ipv6": "route" in the egress block)");
        }
        return;
    }
    const auto listed = gateway_of(actions[egress_index]);
    if (!listed) {
        refuse(egress,
               fmt::format("it lists no {} gateway for {}, so its VPN default route would be "
                           "removed",
                           net::family_name(family), egress.ifname),
               list_hint(egress, egress_gateway));
    }
    if (egress_gateway && *listed != *egress_gateway) {
        refuse(egress,
               fmt::format("it lists {} but the egress gateway is {}", *listed, *egress_gateway),
               list_hint(egress, egress_gateway));
    }
}

}  // namespace

void check_default_routes_keep_egress(const std::vector<plan::Attachment>& attachments,
                                      const std::vector<plan::DefaultRouteAction>& actions) {
    for (std::size_t i = 0; i < attachments.size() && i < actions.size(); ++i) {
        const auto intent = egress_intent(attachments[i]);
        if (!intent) {
            continue;
        }
        check_family(attachments, actions, i, *intent, net::Family::V4);
        if (intent->config.ipv6 != attach::Ipv6Policy::Allow) {
            check_family(attachments, actions, i, *intent, net::Family::V6);
        }
    }
}

}  // namespace splitnet::verbs
