#include "splitnet/egress/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::egress {

namespace {

std::uint32_t effective_priority(const RouteEntry& r) {
    // The kernel stores an IPv6 metric of 0 as 1024 (IP6_RT_PRIO_USER).
    return (!r.dst.is_v4() && r.priority == 0) ? 1024U : r.priority;
}

/// The kernel refuses a second route with the same (table, dst, metric).
bool same_slot(const RouteEntry& a, const RouteEntry& b) {
    return a.table == b.table && a.dst == b.dst && effective_priority(a) == effective_priority(b);
}

bool identical(const RouteEntry& a, const RouteEntry& b) {
    return same_slot(a, b) && a.kind == b.kind && a.dev == b.dev && a.gateway == b.gateway;
}

bool in_any(const std::vector<net::IpNet>& list, const net::IpNet& p) {
    return std::any_of(list.begin(), list.end(),
                       [&](const net::IpNet& k) { return k.contains(p); });
}

bool is_managed(const ResolvedEgress& policy, net::Family family) {
    const auto fams = policy.managed_families();
    return std::find(fams.begin(), fams.end(), family) != fams.end();
}

/// A route via eth0 that may stay: its destination is kept, it is a connected prefix, the
/// host route that makes eth0's gateway reachable, link-local/multicast v6, or ours.
bool allowed_on_primary(const ResolvedEgress& policy, const std::vector<RouteEntry>& routes,
                        const RouteEntry& r) {
    if (r.protocol == kKernelRouteProtocol || r.protocol == kEgressRouteProtocol) {
        return !r.dst.is_default();
    }
    if (r.dst.is_default()) {
        return false;
    }
    if (in_any(policy.keep, r.dst)) {
        return true;
    }
    if (!r.dst.is_v4()) {
        static const std::vector<net::IpNet> kLocalScopes = {*net::parse_cidr("fe80::/10"),
                                                             *net::parse_cidr("ff00::/8")};
        if (in_any(kLocalScopes, r.dst)) {
            return true;
        }
    }
    if (r.dst.prefix == r.dst.addr.max_prefix()) {
        return std::any_of(routes.begin(), routes.end(), [&](const RouteEntry& other) {
            return other.dev == policy.primary_ifname && other.gateway == r.dst.addr;
        });
    }
    return false;
}

bool is_leak(const ResolvedEgress& policy, const std::vector<RouteEntry>& routes,
             const RouteEntry& r) {
    if (r.table == RouteEntry::kLocalTable || !is_managed(policy, r.dst.family())) {
        return false;
    }
    if (r.kind == RouteKind::Unicast && r.dev == policy.primary_ifname &&
        !allowed_on_primary(policy, routes, r)) {
        return true;
    }
    // Under "block" no IPv6 default may exist on any interface (an RA-learned one included).
    return policy.ipv6 == Ipv6Policy::Block && !r.dst.is_v4() && r.dst.is_default() &&
           r.kind == RouteKind::Unicast;
}

struct PrimaryGateway {
    bool found = false;
    std::optional<net::IpAddr> gateway;  ///< nullopt: eth0's default is a device route
};

PrimaryGateway find_primary_gateway(const ResolvedEgress& policy,
                                    const std::vector<RouteEntry>& routes, net::Family family) {
    const RouteEntry* best = nullptr;
    for (const auto& r : routes) {
        if (r.dst.family() == family && r.dst.is_default() && r.kind == RouteKind::Unicast &&
            r.table == RouteEntry::kMainTable && r.dev == policy.primary_ifname &&
            (best == nullptr || effective_priority(r) < effective_priority(*best))) {
            best = &r;
        }
    }
    if (best != nullptr) {
        return {true, best->gateway};
    }
    // A retried ADD after a failed attempt: eth0's default is gone, our keep routes remember it.
    for (const auto& r : routes) {
        if (r.dst.family() == family && r.protocol == kEgressRouteProtocol &&
            r.dev == policy.primary_ifname && r.kind == RouteKind::Unicast) {
            return {true, r.gateway};
        }
    }
    return {};
}

RouteEntry make_route(const net::IpNet& dst, std::optional<net::IpAddr> gateway, std::string dev,
                      std::uint32_t priority, RouteKind kind) {
    RouteEntry r;
    r.dst = dst;
    r.gateway = gateway;
    r.dev = std::move(dev);
    r.priority = priority;
    r.kind = kind;
    r.protocol = kEgressRouteProtocol;
    r.scope = (kind == RouteKind::Unicast && !r.gateway) ? kScopeLink : 0;
    return r;
}

}  // namespace

std::string RouteEntry::describe() const {
    std::string out;
    switch (kind) {
        case RouteKind::Unreachable:
            out = "unreachable ";
            break;
        case RouteKind::Blackhole:
            out = "blackhole ";
            break;
        case RouteKind::Prohibit:
            out = "prohibit ";
            break;
        default:
            break;
    }
    out += dst.is_default() ? (dst.is_v4() ? "default" : "default (v6)") : net::to_string(dst);
    if (gateway) {
        out += " via " + net::to_string(*gateway);
    }
    if (!dev.empty()) {
        out += " dev " + dev;
    }
    if (table != kMainTable) {
        out += fmt::format(" table {}", table);
    }
    out += fmt::format(" metric {}", priority);
    return out;
}

EgressPlan plan_egress(const ResolvedEgress& policy, const std::vector<RouteEntry>& routes) {
    EgressPlan plan;
    for (const auto& r : routes) {
        if (is_leak(policy, routes, r)) {
            plan.remove.push_back(r);
        }
    }
    const auto removed = [&](const RouteEntry& r) {
        return std::any_of(plan.remove.begin(), plan.remove.end(),
                           [&](const RouteEntry& x) { return identical(x, r); });
    };

    // Desired routes, in application order; `late` ones go in after the removals.
    std::vector<std::pair<RouteEntry, bool>> desired;
    for (const auto family : policy.managed_families()) {
        const auto keep = policy.keep_of(family);
        if (!keep.empty()) {
            const auto gw = find_primary_gateway(policy, routes, family);
            if (!gw.found) {
                throw cni::Error(
                    cni::ErrorCode::InvalidNetworkConfig,
                    fmt::format("egress: cannot find {}'s {} gateway: the pod has no {} default "
                                "route via {} after the primary's ADD, and the keep prefixes "
                                "({}) must be routed through it",
                                policy.primary_ifname, net::family_name(family),
                                net::family_name(family), policy.primary_ifname,
                                net::to_string(keep.front())));
            }
            (family == net::Family::V4 ? plan.primary_gateway4 : plan.primary_gateway6) =
                gw.gateway;
            for (const auto& k : keep) {
                const bool on_primary =
                    std::any_of(routes.begin(), routes.end(), [&](const auto& r) {
                        return r.table == RouteEntry::kMainTable && r.dst == k &&
                               r.dev == policy.primary_ifname && r.kind == RouteKind::Unicast;
                    });
                if (!on_primary) {
                    desired.emplace_back(
                        make_route(k, gw.gateway, policy.primary_ifname, 0, RouteKind::Unicast),
                        false);
                }
            }
        }
        desired.emplace_back(make_route(net::default_prefix(family), std::nullopt, "", kGuardMetric,
                                        RouteKind::Unreachable),
                             false);
    }
    desired.emplace_back(make_route(net::default_prefix(net::Family::V4), policy.gateway4,
                                    policy.egress_ifname, kEgressDefaultMetric, RouteKind::Unicast),
                         true);
    if (policy.ipv6 == Ipv6Policy::Route && policy.gateway6) {
        desired.emplace_back(
            make_route(net::default_prefix(net::Family::V6), policy.gateway6, policy.egress_ifname,
                       kEgressDefaultMetric, RouteKind::Unicast),
            true);
    }

    for (auto& [route, late] : desired) {
        bool skip = false;
        for (const auto& existing : routes) {
            if (!same_slot(existing, route)) {
                continue;
            }
            if (identical(existing, route)) {
                skip = true;
            } else if (removed(existing)) {
                late = true;  // the slot frees up only after the removal
            } else {
                throw cni::Error(
                    cni::ErrorCode::InvalidNetworkConfig,
                    fmt::format(R"(egress: cannot add "{}": the pod already has "{}" )"
                                "(check the keep list and the IPAM routes of {})",
                                route.describe(), existing.describe(), policy.egress_ifname));
            }
        }
        if (!skip) {
            (late ? plan.add_last : plan.add_first).push_back(route);
        }
    }
    return plan;
}

std::vector<std::string> check_egress(const ResolvedEgress& policy,
                                      const std::vector<RouteEntry>& routes) {
    std::vector<std::string> problems;
    const auto has = [&](auto pred) { return std::any_of(routes.begin(), routes.end(), pred); };
    for (const auto family : policy.managed_families()) {
        for (const auto& k : policy.keep_of(family)) {
            if (!has([&](const RouteEntry& r) {
                    return r.table == RouteEntry::kMainTable && r.dst == k &&
                           r.dev == policy.primary_ifname && r.kind == RouteKind::Unicast;
                })) {
                problems.push_back(fmt::format("keep prefix {} is not routed via {}",
                                               net::to_string(k), policy.primary_ifname));
            }
        }
        if (!has([&](const RouteEntry& r) {
                return r.table == RouteEntry::kMainTable && r.dst == net::default_prefix(family) &&
                       r.kind == RouteKind::Unreachable;
            })) {
            problems.push_back(
                fmt::format("the {} kill switch (unreachable default metric {}) "
                            "is missing",
                            net::family_name(family), kGuardMetric));
        }
    }
    const auto expect_default = [&](const net::IpAddr& gateway) {
        if (!has([&](const RouteEntry& r) {
                return r.table == RouteEntry::kMainTable &&
                       r.dst == net::default_prefix(gateway.family) &&
                       r.kind == RouteKind::Unicast && r.dev == policy.egress_ifname &&
                       r.gateway == gateway;
            })) {
            problems.push_back(fmt::format("no {} default route via {} dev {}",
                                           net::family_name(gateway.family),
                                           net::to_string(gateway), policy.egress_ifname));
        }
    };
    expect_default(policy.gateway4);
    if (policy.ipv6 == Ipv6Policy::Route && policy.gateway6) {
        expect_default(*policy.gateway6);
    }
    for (const auto& r : routes) {
        if (is_leak(policy, routes, r)) {
            problems.push_back(fmt::format("route \"{}\" lets traffic outside keep leave via {}",
                                           r.describe(),
                                           r.dev.empty() ? policy.primary_ifname : r.dev));
        }
    }
    return problems;
}

std::vector<RouteEntry> routes_to_delete(const std::vector<RouteEntry>& routes) {
    std::vector<RouteEntry> out;
    for (const auto& r : routes) {
        if (r.protocol == kEgressRouteProtocol) {
            out.push_back(r);
        }
    }
    const auto rank = [](const RouteEntry& r) {
        if (r.kind != RouteKind::Unicast) {
            return 2;  // guards last
        }
        return r.dst.is_default() ? 0 : 1;
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const RouteEntry& a, const RouteEntry& b) { return rank(a) < rank(b); });
    return out;
}

}  // namespace splitnet::egress
