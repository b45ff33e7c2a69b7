#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "splitnet/net/ip.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::net {

inline constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN
inline constexpr std::uint32_t kAllTables = 0;    // list_routes: every table

enum class RouteType { Unicast, Unreachable, Blackhole, Prohibit, Throw, Local };

/// One route to add or delete. The family is the destination's.
struct RouteSpec {
    IpNet dst;                 ///< prefix 0 = default route
    std::optional<IpAddr> gw;  ///< none: directly connected through `ifindex`
    int ifindex = 0;           ///< output interface (0 for unreachable/blackhole/prohibit)
    bool onlink = false;       ///< RTNH_F_ONLINK: gateway reachable without a covering route
    std::uint32_t table = kMainTable;
    std::optional<std::uint32_t> priority;  ///< metric
    /// RT_SCOPE_*; unset = universe, as vishvananda/netlink sends for a zero Route.Scope (libnl
    /// would otherwise guess "link" for gateway-less routes).
    std::optional<int> scope;
    RouteType type = RouteType::Unicast;
    std::optional<IpAddr> prefsrc;
    /// RTPROT_*; unset = "boot" on add, "any" on delete. Egress marks its routes with its own.
    std::optional<int> protocol;
};

struct Nexthop {
    std::optional<IpAddr> gw;
    int ifindex = 0;
    unsigned flags = 0;  ///< RTNH_F_*
};

/// A route as the kernel reports it.
struct RouteInfo {
    IpNet dst;
    std::uint32_t table = kMainTable;
    std::uint32_t priority = 0;
    int scope = 0;
    RouteType type = RouteType::Unicast;
    int protocol = 0;
    std::optional<IpAddr> prefsrc;
    std::vector<Nexthop> nexthops;  ///< one for a plain route, several for multipath
};

/// Adds a route with NLM_F_CREATE but without NLM_F_EXCL (like Go's RouteAddEcmp used by
/// ipam.ConfigureIface): a second route to the same destination through another gateway is
/// accepted (IPv6 merges it into a multipath route). `exclusive` adds NLM_F_EXCL.
/// Protocol is "boot", as Go's netlink sends.
void add_route(Netlink& nl, const RouteSpec& route, bool exclusive = false);

/// Adds or replaces (NLM_F_CREATE|NLM_F_REPLACE, `ip route replace`): a route to the same
/// destination with the same metric in the same table is overwritten instead of failing with
/// EEXIST or becoming a second (ECMP) route.
void replace_route(Netlink& nl, const RouteSpec& route);

/// Deletes a matching route; false when there was none.
bool delete_route(Netlink& nl, const RouteSpec& route);

/// Routes of `family` (nullopt: both) in `table` (kAllTables: every table;
/// dump, retried when interrupted). Cached/cloned entries are skipped.
std::vector<RouteInfo> list_routes(Netlink& nl, std::optional<Family> family,
                                   std::uint32_t table = kMainTable);

/// ifindex of the first default route in the main table (IPv4 first, then IPv6), as Go's
/// macvlan getDefaultRouteInterfaceName walks RouteList(nil, FAMILY_ALL). nullopt if none.
std::optional<int> default_route_ifindex(Netlink& nl);

/// One hop of a main-table default route (0.0.0.0/0 or ::/0): a multipath route gives one entry
/// per hop. The dump reports a default route's destination either as absent or as a zero-length
/// prefix (the kernel keeps no difference); both come out as prefix 0 and both are listed here,
/// so the "Dst == nil" trap of Multus >= 4.2.2 cannot happen.
struct DefaultRouteHop {
    RouteInfo route;
    Nexthop hop;
};

/// Every hop of every default route of the main table, both families.
std::vector<DefaultRouteHop> list_default_routes(Netlink& nl);

/// Deletes the route `entry` is a hop of (dst, table, type, metric, this hop's gateway and
/// interface); false when it was already gone. An IPv4 multipath route goes as a whole.
bool delete_default_route(Netlink& nl, const DefaultRouteHop& entry);

/// `default via <gw> dev <ifindex>` in the main table, with replace semantics (never EEXIST,
/// never a second ECMP route). Throws NetlinkError.
void replace_default_route(Netlink& nl, int ifindex, const IpAddr& gw);

/// "<dst> via <gw> dev <ifindex> table <t> metric <p>" for messages.
std::string describe(const RouteSpec& route);

}  // namespace splitnet::net
