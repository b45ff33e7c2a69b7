#include <map>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"
#include "splitnet/verbs/default_route.hpp"

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

}  // namespace splitnet::verbs
