#include "splitnet/verbs/default_route.hpp"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::verbs {
namespace {

// Cleared (family, ifindex) pairs -> ifname, for lookups and messages.
using Cleared = std::map<std::pair<net::Family, int>, std::string>;

// Default routes of the main table with a hop through a cleared interface.
std::vector<net::DefaultRouteHop> cleared_defaults(net::Netlink& nl, const Cleared& cleared) {
    auto defaults = net::list_default_routes(nl);
    std::erase_if(defaults, [&](const net::DefaultRouteHop& entry) {
        return !cleared.contains({entry.route.dst.family(), entry.hop.ifindex});
    });
    return defaults;
}

std::string describe_default(const net::RouteInfo& route, const net::Nexthop& hop,
                             const std::string& ifname) {
    std::string text = "default";
    if (hop.gw) {
        text += " via " + net::to_string(*hop.gw);
    }
    return fmt::format("{} dev {} metric {} ({})", text, ifname, route.priority,
                       net::family_name(route.dst.family()));
}

void delete_defaults(net::Netlink& nl, const Cleared& cleared) {
    for (const auto& entry : cleared_defaults(nl, cleared)) {
        const auto& ifname = cleared.at({entry.route.dst.family(), entry.hop.ifindex});
        // An IPv4 multipath route goes as a whole with its first hop; later hops then find
        // nothing, which is fine: the check below decides.
        if (net::delete_default_route(nl, entry)) {
            spdlog::info("default-route: removed {}",
                         describe_default(entry.route, entry.hop, ifname));
        }
    }
    const auto left = cleared_defaults(nl, cleared);
    if (!left.empty()) {
        const auto& [route, hop] = left.front();
        throw cni::Error(
            cni::ErrorCode::Other,
            fmt::format(
                "default-route: could not remove {} from the pod",
                describe_default(route, hop, cleared.at({route.dst.family(), hop.ifindex}))),
            "the route is still listed after deleting it; check what else manages the pod's "
            "routes");
    }
}

void add_default(net::Netlink& nl, int ifindex, const std::string& ifname,
                 const std::string& gw_text) {
    const auto gw = net::parse_ip(gw_text);
    if (!gw) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         fmt::format(R"(invalid "default-route" gateway "{}")", gw_text));
    }
    try {
        net::replace_default_route(nl, ifindex, *gw);
    } catch (const net::NetlinkError& e) {
        throw cni::Error(
            cni::ErrorCode::Other,
            fmt::format("default-route: cannot add default via {} dev {}: {}", gw_text, ifname,
                        e.reason()),
            fmt::format("the gateway of \"default-route\" must lie in a subnet of an address of "
                        "{} (the network's IPAM decides those)",
                        ifname));
    }
    spdlog::info("default-route: added default via {} dev {}", gw_text, ifname);
}

}  // namespace

void apply_default_routes(const std::string& netns_path,
                          const std::vector<plan::DefaultRouteAction>& actions) {
    const auto pod_fd = net::open_netns(netns_path);
    net::Netlink nl(pod_fd.get());

    Cleared cleared;
    std::vector<std::pair<int, const plan::DefaultRouteAction*>> gateways;
    for (const auto& action : actions) {
        const auto link = net::find_link(nl, action.ifname);
        if (!link) {
            if (action.gateway_v4 || action.gateway_v6) {
                throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                                 fmt::format("default-route: interface {} is not in the pod, so "
                                             "it cannot carry the requested default route",
                                             action.ifname),
                                 "request \"default-route\" on a network that creates an "
                                 "interface in the pod");
            }
            spdlog::debug("default-route: {} is not in the pod, nothing to remove there",
                          action.ifname);
            continue;
        }
        for (const auto family : {net::Family::V4, net::Family::V6}) {
            if (action.clears(family)) {
                cleared.emplace(std::pair{family, link->index}, action.ifname);
            }
        }
        if (action.gateway_v4 || action.gateway_v6) {
            gateways.emplace_back(link->index, &action);
        }
    }

    delete_defaults(nl, cleared);
    for (const auto& [ifindex, action] : gateways) {
        for (const auto& gw : {action->gateway_v4, action->gateway_v6}) {
            if (gw) {
                add_default(nl, ifindex, action->ifname, *gw);
            }
        }
    }
}

// `default-route` against egress policies: refused at plan time when it would undo one.

namespace {

using nlohmann::json;

// An attachment's egress policy with the gateways it will use, where the config says them.
struct EgressIntent {
    egress::EgressConfig config;
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
        const auto config = egress::parse_egress_config(plugin);
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
    if (family == net::Family::V6 && intent.config.ipv6 == egress::Ipv6Policy::Block) {
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
        if (intent->config.ipv6 != egress::Ipv6Policy::Allow) {
            check_family(attachments, actions, i, *intent, net::Family::V6);
        }
    }
}

namespace {

using nlohmann::json;

// The family of `route` when it is a default route (prefix 0: "0.0.0.0/0", "::/0", "::0/0").
std::optional<net::Family> default_route_family(const json& route) {
    if (!route.is_object()) {
        return std::nullopt;
    }
    const auto it = route.find("dst");
    if (it == route.end() || !it->is_string()) {
        return std::nullopt;
    }
    const auto dst = net::parse_cidr(it->get<std::string>());
    if (!dst || !dst->is_default()) {
        return std::nullopt;
    }
    return dst->family();
}

void drop_cleared(json& routes, const plan::DefaultRouteAction& action) {
    if (!routes.is_array()) {
        return;
    }
    json kept = json::array();
    for (auto& route : routes) {
        const auto family = default_route_family(route);
        if (!family || !action.clears(*family)) {
            kept.push_back(std::move(route));
        }
    }
    routes = std::move(kept);
}

json default_route(net::Family family, const std::string& gw) {
    return {{"dst", net::to_string(net::default_prefix(family))}, {"gw", gw}};
}

// 0.1.0/0.2.0: one block per family, each with its own routes.
void rewrite_legacy(json& result, const plan::DefaultRouteAction& action) {
    for (const auto& [key, family, gw] : {std::tuple{"ip4", net::Family::V4, action.gateway_v4},
                                          std::tuple{"ip6", net::Family::V6, action.gateway_v6}}) {
        auto block = result.find(key);
        if (block == result.end() || !block->is_object()) {
            if (gw) {
                spdlog::warn(
                    "default route via {} on {} cannot be recorded in its 0.2.0 result: the "
                    "result has no {} block",
                    *gw, action.ifname, key);
            }
            continue;
        }
        if (auto routes = block->find("routes"); routes != block->end()) {
            drop_cleared(*routes, action);
        }
        if (gw) {
            (*block)["routes"].push_back(default_route(family, *gw));
        }
    }
}

}  // namespace

void rewrite_default_routes(json& result, const plan::DefaultRouteAction& action) {
    if (!result.is_object()) {
        return;
    }
    if (!result.contains("ips") && (result.contains("ip4") || result.contains("ip6"))) {
        rewrite_legacy(result, action);
        return;
    }
    if (auto routes = result.find("routes"); routes != result.end()) {
        drop_cleared(*routes, action);
    }
    if (action.gateway_v4) {
        result["routes"].push_back(default_route(net::Family::V4, *action.gateway_v4));
    }
    if (action.gateway_v6) {
        result["routes"].push_back(default_route(net::Family::V6, *action.gateway_v6));
    }
}

}  // namespace splitnet::verbs
