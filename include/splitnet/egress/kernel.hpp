#pragma once

#include <vector>

#include "splitnet/egress/plan.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::egress {

/// The routes of every table of the netns of `nl`, in the egress logic's terms (interface
/// names resolved; only the first nexthop of a multipath route is looked at).
std::vector<RouteEntry> observe_routes(net::Netlink& nl);

/// Adds `route` exclusively (NLM_F_EXCL: IPv6 would otherwise merge a second gateway into an
/// ECMP route), with its protocol.
void install_route(net::Netlink& nl, const RouteEntry& route);

/// Deletes `route` as observed; false when it was already gone.
bool remove_route(net::Netlink& nl, const RouteEntry& route);

}  // namespace splitnet::egress
