#include <map>
#include <utility>

#include <sys/socket.h>

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

// Default routes of the main table leaving through a cleared interface. The dump reports a
// default route's destination either as absent or as a zero-length prefix (the kernel keeps no
// difference); both come out of list_routes as prefix 0, which is all that is matched here, so
// the "Dst == nil" trap of Multus >= 4.2.2 cannot happen.
std::vector<std::pair<net::RouteInfo, net::Nexthop>> cleared_defaults(net::Netlink& nl,
                                                                      const Cleared& cleared) {
    std::vector<std::pair<net::RouteInfo, net::Nexthop>> out;
    for (const auto& route : net::list_routes(nl, std::nullopt, net::kMainTable)) {
        if (route.dst.prefix != 0) {
            continue;
        }
        for (const auto& hop : route.nexthops) {
            if (cleared.contains({route.dst.family(), hop.ifindex})) {
                out.emplace_back(route, hop);
            }
        }
    }
    return out;
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
    for (const auto& [route, hop] : cleared_defaults(nl, cleared)) {
        net::RouteSpec spec;
        spec.dst = route.dst;
        spec.gw = hop.gw;
        spec.ifindex = hop.ifindex;
        spec.table = route.table;
        spec.type = route.type;
        if (route.priority != 0) {
            spec.priority = route.priority;
        }
        const auto& ifname = cleared.at({route.dst.family(), hop.ifindex});
        // An IPv4 multipath route goes as a whole with its first hop; later hops then find
        // nothing, which is fine: the check below decides.
        if (net::delete_route(nl, spec)) {
            spdlog::info("default-route: removed {}", describe_default(route, hop, ifname));
        }
    }
    const auto left = cleared_defaults(nl, cleared);
    if (!left.empty()) {
        const auto& [route, hop] = left.front();
        throw cni::Error(
            cni::ErrorCode::Internal,
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
    net::RouteSpec spec;
    spec.dst = net::default_prefix(gw->family);
    spec.gw = *gw;
    spec.ifindex = ifindex;
    try {
        net::replace_route(nl, spec);
    } catch (const net::NetlinkError& e) {
        throw cni::Error(
            cni::ErrorCode::Internal,
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
