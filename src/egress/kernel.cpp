#include "splitnet/egress/kernel.hpp"

#include <map>

#include <linux/rtnetlink.h>

#include <fmt/format.h>

#include "splitnet/net/link.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::egress {

namespace {

RouteKind to_kind(net::RouteType type) {
    switch (type) {
        case net::RouteType::Unicast:
            return RouteKind::Unicast;
        case net::RouteType::Unreachable:
            return RouteKind::Unreachable;
        case net::RouteType::Blackhole:
            return RouteKind::Blackhole;
        case net::RouteType::Prohibit:
            return RouteKind::Prohibit;
        default:
            return RouteKind::Other;
    }
}

net::RouteType to_type(RouteKind kind) {
    switch (kind) {
        case RouteKind::Unreachable:
            return net::RouteType::Unreachable;
        case RouteKind::Blackhole:
            return net::RouteType::Blackhole;
        case RouteKind::Prohibit:
            return net::RouteType::Prohibit;
        default:
            return net::RouteType::Unicast;
    }
}

net::RouteSpec to_spec(net::Netlink& nl, const RouteEntry& r) {
    net::RouteSpec spec;
    spec.dst = r.dst;
    spec.gw = r.gateway;
    if (r.kind == RouteKind::Unicast && !r.dev.empty()) {
        spec.ifindex = net::get_link(nl, r.dev).index;
    }
    spec.table = r.table;
    spec.priority = r.priority;
    spec.type = to_type(r.kind);
    return spec;
}

}  // namespace

std::vector<RouteEntry> observe_routes(net::Netlink& nl) {
    std::map<int, std::string> names;
    const auto name_of = [&](int index) -> std::string {
        if (index == 0) {
            return "";
        }
        if (const auto it = names.find(index); it != names.end()) {
            return it->second;
        }
        const auto link = net::find_link(nl, index);
        auto name = link ? link->name : fmt::format("if{}", index);
        names.emplace(index, name);
        return name;
    };
    std::vector<RouteEntry> out;
    for (const auto& info : net::list_routes(nl, std::nullopt, net::kAllTables)) {
        RouteEntry r;
        r.dst = info.dst;
        r.table = info.table;
        r.priority = info.priority;
        r.kind = to_kind(info.type);
        r.protocol = static_cast<std::uint8_t>(info.protocol);
        r.scope = static_cast<std::uint8_t>(info.scope);
        if (info.nexthops.empty() || r.kind != RouteKind::Unicast) {
            out.push_back(std::move(r));
            continue;
        }
        // Every hop of a multipath route: traffic leaves through each of them (a route whose
        // first hop is net1 and whose second is eth0 leaks half of it).
        for (const auto& hop : info.nexthops) {
            auto entry = r;
            entry.dev = name_of(hop.ifindex);
            entry.gateway = hop.gw;
            out.push_back(std::move(entry));
        }
    }
    return out;
}

void install_route(net::Netlink& nl, const RouteEntry& route) {
    auto spec = to_spec(nl, route);
    spec.protocol = route.protocol;
    if (route.scope == kScopeLink) {
        spec.scope = RT_SCOPE_LINK;
    }
    net::add_route(nl, spec, /*exclusive=*/true);
}

bool remove_route(net::Netlink& nl, const RouteEntry& route) {
    return net::delete_route(nl, to_spec(nl, route));
}

bool remove_leaking_route(net::Netlink& nl, const RouteEntry& route) {
    auto spec = to_spec(nl, route);
    if (net::delete_route(nl, spec)) {
        return true;
    }
    if (!route.dst.is_v4() || route.kind != RouteKind::Unicast) {
        return false;  // an IPv6 multipath route is a set of routes, each deleted on its own
    }
    // The kernel matches a hop named in an IPv4 delete against the route's first hop only: a
    // later hop of a multipath route goes with the whole route (its slot, type and protocol).
    spec.gw.reset();
    spec.ifindex = 0;
    spec.protocol = route.protocol;
    return net::delete_route(nl, spec);
}

}  // namespace splitnet::egress
