#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/plan/default_route.hpp"

namespace splitnet::verbs {

/// Makes the pod's main-table default routes what `actions` ask for, inside the netns at
/// `netns_path`: first every default route (0.0.0.0/0 or ::/0, whether the kernel reports the
/// destination as absent or as a zero prefix) of a cleared family leaving through a cleared
/// attachment's interface is deleted, and that is verified; then `default via <gw> dev <ifname>`
/// is added with replace semantics (never EEXIST, never a second ECMP route). An attachment
/// whose interface is not in the netns has nothing to clear; one that should get a gateway
/// fails. Throws cni::Error saying which route could not be removed or added.
void apply_default_routes(const std::string& netns_path,
                          const std::vector<plan::DefaultRouteAction>& actions);

/// Refuses, before anything exists in the pod, a `default-route` selection that would undo the
/// egress policy of a native macvlan attachment (docs/egress.md), since `default-route` runs
/// after every attachment and clears the default routes of every attachment it filters:
/// - IPv4: the egress attachment must itself list its egress gateway (written in
///   egress.gateway, or its static IPAM gateway). A gateway on another network would send
///   internet traffic out of that interface (the leak the policy exists to prevent); none, or a
///   different one, would remove or replace the VPN route.
/// - IPv6 (unless the policy says "ipv6": "allow"): no other network may get a v6 default, and
///   with "route" the egress attachment must list its v6 gateway.
/// `actions` is plan_default_routes' answer for `attachments` (same order). A config that does
/// not parse is left to the attachment's own parse, which reports it. Throws
/// cni::Error(InvalidNetworkConfig) naming both networks and saying what to list instead.
void check_default_routes_keep_egress(const std::vector<plan::Attachment>& attachments,
                                      const std::vector<plan::DefaultRouteAction>& actions);

/// Makes one attachment's stored result (any CNI version, unknown keys kept) say what
/// apply_default_routes did: default routes of cleared families are dropped from `routes`
/// (ip4/ip6.routes for 0.1.0/0.2.0) and {"dst":"0.0.0.0/0"|"::/0","gw":gw} is appended for each
/// new gateway. A null result is left alone. Pure.
void rewrite_default_routes(nlohmann::json& result, const plan::DefaultRouteAction& action);

}  // namespace splitnet::verbs
