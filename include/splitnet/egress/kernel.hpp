#pragma once

#include <vector>

#include "splitnet/egress/plan.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::egress {

/// The routes of every table of the netns of `nl`, in the egress logic's terms (interface
/// names resolved; a multipath route gives one entry per hop, each with the route's table,
/// destination and metric).
std::vector<RouteEntry> observe_routes(net::Netlink& nl);

/// Adds `route` exclusively (NLM_F_EXCL: IPv6 would otherwise merge a second gateway into an
/// ECMP route), with its protocol.
void install_route(net::Netlink& nl, const RouteEntry& route);

/// Deletes `route` as observed; false when it was already gone.
bool remove_route(net::Netlink& nl, const RouteEntry& route);

/// Deletes a route that lets traffic leak, as observed: a hop of an IPv4 multipath route that
/// the kernel cannot take out on its own takes the whole route with it (fail closed); false when
/// it was already gone.
bool remove_leaking_route(net::Netlink& nl, const RouteEntry& route);

}  // namespace splitnet::egress
