#include "splitnet/net/route.hpp"

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "splitnet/net/nl_addr.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

std::uint8_t type_to_kernel(RouteType type) {
    switch (type) {
        case RouteType::Unicast:
            return RTN_UNICAST;
        case RouteType::Unreachable:
            return RTN_UNREACHABLE;
        case RouteType::Blackhole:
            return RTN_BLACKHOLE;
        case RouteType::Prohibit:
            return RTN_PROHIBIT;
        case RouteType::Throw:
            return RTN_THROW;
        case RouteType::Local:
            return RTN_LOCAL;
    }
    return RTN_UNICAST;
}

RouteType type_from_kernel(unsigned type) {
    switch (type) {
        case RTN_UNREACHABLE:
            return RouteType::Unreachable;
        case RTN_BLACKHOLE:
            return RouteType::Blackhole;
        case RTN_PROHIBIT:
            return RouteType::Prohibit;
        case RTN_THROW:
            return RouteType::Throw;
        case RTN_LOCAL:
            return RouteType::Local;
        default:
            return RouteType::Unicast;
    }
}

RoutePtr build_route(const RouteSpec& spec, bool for_delete) {
    RoutePtr route(rtnl_route_alloc());
    if (!route) {
        throw KernelError("rtnl_route_alloc failed: out of memory");
    }
    rtnl_route_set_family(route.get(),
                          static_cast<std::uint8_t>(address_family(spec.dst.addr.family)));
    const auto dst = make_nl_addr(spec.dst);
    rtnl_route_set_dst(route.get(), dst.get());
    rtnl_route_set_table(route.get(), spec.table);
    rtnl_route_set_type(route.get(), type_to_kernel(spec.type));
    if (for_delete) {
        // The kernel matches protocol when non-zero and scope unless RT_SCOPE_NOWHERE.
        rtnl_route_set_protocol(route.get(),
                                static_cast<std::uint8_t>(spec.protocol.value_or(RTPROT_UNSPEC)));
        rtnl_route_set_scope(route.get(),
                             static_cast<std::uint8_t>(spec.scope.value_or(RT_SCOPE_NOWHERE)));
    } else {
        rtnl_route_set_protocol(route.get(),
                                static_cast<std::uint8_t>(spec.protocol.value_or(RTPROT_BOOT)));
        rtnl_route_set_scope(route.get(),
                             static_cast<std::uint8_t>(spec.scope.value_or(RT_SCOPE_UNIVERSE)));
    }
    if (spec.priority) {
        rtnl_route_set_priority(route.get(), *spec.priority);
    }
    if (spec.prefsrc) {
        const auto src = make_nl_addr(*spec.prefsrc, spec.prefsrc->is_v4() ? 32 : 128);
        rtnl_route_set_pref_src(route.get(), src.get());
    }
    if (spec.ifindex != 0 || spec.gw) {
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        if (nh == nullptr) {
            throw KernelError("rtnl_route_nh_alloc failed");
        }
        if (spec.ifindex != 0) {
            rtnl_route_nh_set_ifindex(nh, spec.ifindex);
        }
        if (spec.gw) {
            const auto gw = make_nl_addr(*spec.gw, spec.gw->is_v4() ? 32 : 128);
            rtnl_route_nh_set_gateway(nh, gw.get());
        }
        if (spec.onlink) {
            rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
        }
        rtnl_route_add_nexthop(route.get(), nh);  // takes ownership of nh
    }
    return route;
}

}  // namespace

std::string describe_route(const RouteSpec& route) {
    std::string out = to_string(route.dst);
    if (route.gw) {
        out += " via " + to_string(*route.gw);
    }
    if (route.ifindex != 0) {
        out += fmt::format(" dev ifindex {}", route.ifindex);
    }
    if (route.onlink) {
        out += " onlink";
    }
    out += fmt::format(" table {}", route.table);
    if (route.priority) {
        out += fmt::format(" metric {}", *route.priority);
    }
    if (route.scope) {
        out += fmt::format(" scope {}", *route.scope);
    }
    if (route.type != RouteType::Unicast) {
        out += fmt::format(" type {}", static_cast<int>(type_to_kernel(route.type)));
    }
    return out;
}

void add_route(Netlink& nl, const RouteSpec& route, bool exclusive) {
    auto obj = build_route(route, false);
    nl.clear_errno();
    const int flags = NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0);
    nl.check(rtnl_route_add(nl.sock(), obj.get(), flags),
             fmt::format("failed to add route '{}'", describe_route(route)));
}

void replace_route(Netlink& nl, const RouteSpec& route) {
    auto obj = build_route(route, false);
    nl.clear_errno();
    nl.check(rtnl_route_add(nl.sock(), obj.get(), NLM_F_CREATE | NLM_F_REPLACE),
             fmt::format("failed to replace route '{}'", describe_route(route)));
}

bool delete_route(Netlink& nl, const RouteSpec& route) {
    auto obj = build_route(route, true);
    nl.clear_errno();
    const int rc = rtnl_route_delete(nl.sock(), obj.get(), 0);
    if (rc == -NLE_OBJ_NOTFOUND) {
        return false;
    }
    nl.check(rc, fmt::format("failed to delete route '{}'", describe_route(route)));
    return true;
}

std::vector<DefaultRouteHop> list_default_routes(Netlink& nl) {
    std::vector<DefaultRouteHop> out;
    for (const auto& route : list_routes(nl, std::nullopt, kMainTable)) {
        if (route.dst.prefix != 0) {
            continue;
        }
        for (const auto& hop : route.nexthops) {
            out.push_back({route, hop});
        }
    }
    return out;
}

bool delete_default_route(Netlink& nl, const DefaultRouteHop& entry) {
    RouteSpec spec;
    spec.dst = entry.route.dst;
    spec.gw = entry.hop.gw;
    spec.ifindex = entry.hop.ifindex;
    spec.table = entry.route.table;
    spec.type = entry.route.type;
    if (entry.route.priority != 0) {
        spec.priority = entry.route.priority;
    }
    return delete_route(nl, spec);
}

void replace_default_route(Netlink& nl, int ifindex, const IpAddr& gw) {
    RouteSpec spec;
    spec.dst = default_prefix(gw.family);
    spec.gw = gw;
    spec.ifindex = ifindex;
    replace_route(nl, spec);
}

std::vector<RouteInfo> list_routes(Netlink& nl, std::optional<Family> family, std::uint32_t table) {
    std::vector<RouteInfo> out;
    nl.dump(
        RTM_GETROUTE, family ? address_family(*family) : AF_UNSPEC, [&] { out.clear(); },
        [&](nl_object* obj) {
            auto* route = reinterpret_cast<rtnl_route*>(obj);  // NOLINT: libnl object cast
            const auto fam = family_from_af(rtnl_route_get_family(route));
            if (!fam || (family && *fam != *family) ||
                (table != kAllTables && rtnl_route_get_table(route) != table) ||
                (rtnl_route_get_flags(route) & RTM_F_CLONED) != 0) {
                return;
            }
            RouteInfo info;
            info.dst = ip_net_from_nl(rtnl_route_get_dst(route), *fam);
            info.table = rtnl_route_get_table(route);
            info.priority = rtnl_route_get_priority(route);
            info.scope = rtnl_route_get_scope(route);
            info.type = type_from_kernel(rtnl_route_get_type(route));
            info.protocol = rtnl_route_get_protocol(route);
            if (nl_addr* src = rtnl_route_get_pref_src(route); src != nullptr) {
                info.prefsrc = ip_net_from_nl(src, *fam).addr;
            }
            const int count = rtnl_route_get_nnexthops(route);
            for (int i = 0; i < count; ++i) {
                rtnl_nexthop* nh = rtnl_route_nexthop_n(route, i);
                Nexthop hop;
                hop.ifindex = rtnl_route_nh_get_ifindex(nh);
                hop.flags = rtnl_route_nh_get_flags(nh);
                if (nl_addr* gw = rtnl_route_nh_get_gateway(nh); gw != nullptr) {
                    hop.gw = ip_net_from_nl(gw, *fam).addr;
                }
                info.nexthops.push_back(hop);
            }
            out.push_back(std::move(info));
        },
        fmt::format("list routes of family {} in table {}",
                    family ? address_family(*family) : AF_UNSPEC, table));
    return out;
}

std::optional<int> default_route_ifindex(Netlink& nl) {
    for (const auto family : {Family::V4, Family::V6}) {
        for (const auto& route : list_routes(nl, family, kMainTable)) {
            if (route.dst.prefix != 0 || route.type != RouteType::Unicast) {
                continue;
            }
            for (const auto& hop : route.nexthops) {
                if (hop.ifindex != 0) {
                    return hop.ifindex;
                }
            }
        }
    }
    return std::nullopt;
}

}  // namespace splitnet::net
