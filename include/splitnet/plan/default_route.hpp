#pragma once

#include <optional>
#include <string>
#include <vector>

#include "splitnet/net/ip.hpp"
#include "splitnet/plan/plan.hpp"

namespace splitnet::plan {

/// What the `default-route` selection key asks of one attachment (Multus CheckGatewayConfig).
///
/// Once any selection carries the key (even `[]`), every attachment, the primary included, is
/// *filtered* for a family unless it lists a gateway of that family (IsFilterV4Gateway /
/// IsFilterV6Gateway). Its default routes of that family are then removed. The attachment that
/// lists the gateway has its own default routes of that family replaced by `default via <gw>`.
/// So every default route of the main table on the pod's attachment interfaces is cleared,
/// and only the requested gateways come back. `default-route: []` thus leaves the pod without
/// any default route (Multus behaviour, issue #1011).
struct DefaultRouteAction {
    std::string ifname;
    bool filter_v4 = false;
    bool filter_v6 = false;
    std::optional<std::string> gateway_v4;  ///< canonical text; add `default via gw dev ifname`
    std::optional<std::string> gateway_v6;

    /// Whether this attachment's default routes of `family` are removed: when filtered, and
    /// when it gets a new gateway of that family (the old ones are replaced).
    [[nodiscard]] bool clears(net::Family family) const;
};

/// One action per attachment, in plan order; nullopt when no selection has `default-route`
/// (default routes are then left as the plugins made them). Pure.
///
/// Throws Error(InvalidNetworkConfig) `multus does not support ECMP for default-route` when the
/// selections list more than one IPv4 or more than one IPv6 gateway overall (one of each is
/// fine), and when a gateway is not an IP address. Run it before any attachment is added.
std::optional<std::vector<DefaultRouteAction>> plan_default_routes(
    const std::vector<Attachment>& attachments);

}  // namespace splitnet::plan
