#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splitnet/egress/resolve.hpp"
#include "splitnet/net/ip.hpp"

namespace splitnet::egress {

enum class RouteKind { Unicast, Unreachable, Blackhole, Prohibit, Other };

/// One kernel route as the egress logic sees it (a pure mirror of what net/ lists).
struct RouteEntry {
    net::IpNet dst;
    std::optional<net::IpAddr> gateway;
    std::string dev;  ///< "" for unreachable/blackhole
    std::uint32_t table = kMainTable;
    std::uint32_t priority = 0;  ///< metric; IPv6 0 means 1024 to the kernel
    RouteKind kind = RouteKind::Unicast;
    std::uint8_t protocol = 0;
    std::uint8_t scope = 0;  ///< RT_SCOPE_UNIVERSE (0) or RT_SCOPE_LINK (253)

    static constexpr std::uint32_t kMainTable = 254;
    static constexpr std::uint32_t kLocalTable = 255;
    [[nodiscard]] std::string describe() const;
};

/// Routes egress installs carry this rtm_protocol so that CHECK and DEL find exactly them,
/// stateless and across a retried ADD (`ip route show table all proto 83`).
inline constexpr std::uint8_t kEgressRouteProtocol = 83;
inline constexpr std::uint8_t kKernelRouteProtocol = 2;  // RTPROT_KERNEL: connected prefixes
inline constexpr std::uint8_t kScopeLink = 253;
/// The default via the VPN gateway. Explicit (not 0) so that IPv6 does not turn it into 1024,
/// where an RA-learned default via eth0 would become its ECMP sibling.
inline constexpr std::uint32_t kEgressDefaultMetric = 10;
/// The kill switch sits right behind the VPN default: when net1 disappears with its routes, no
/// other default (a later attachment's, an RA's at 1024) is ever consulted.
inline constexpr std::uint32_t kGuardMetric = 11;

/// Ordered kernel changes. Apply in this order: `add_first` (keep routes and the unreachable
/// guards), then `remove` (routes that would let external traffic out via eth0), then
/// `add_last` (the defaults via the gateway). Every intermediate state is fail-closed.
struct EgressPlan {
    std::vector<RouteEntry> add_first;
    std::vector<RouteEntry> remove;
    std::vector<RouteEntry> add_last;
    std::optional<net::IpAddr> primary_gateway4;  ///< as read from the table
    std::optional<net::IpAddr> primary_gateway6;
};

/// Computes the changes from the pod's routes as observed after the primary's ADD and net1's
/// routes (all tables). Routes already present identically are not added again (idempotent
/// after a failed earlier attempt). Throws cni::Error(InvalidNetworkConfig) when a keep prefix
/// is already routed elsewhere, or when the primary's gateway cannot be found in the table.
EgressPlan plan_egress(const ResolvedEgress& policy, const std::vector<RouteEntry>& routes);

/// CHECK: every problem with the installed policy, as readable sentences (empty = fine).
std::vector<std::string> check_egress(const ResolvedEgress& policy,
                                      const std::vector<RouteEntry>& routes);

/// DEL: the routes egress installed (by protocol), in an order that never opens a path out
/// via eth0: the VPN defaults first, the unreachable guards last.
std::vector<RouteEntry> routes_to_delete(const std::vector<RouteEntry>& routes);

}  // namespace splitnet::egress
