#include "splitnet/plan/default_route.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/ip.hpp"

namespace splitnet::plan {
namespace {

// "192.0.2.1 (net1, network \"media/vpn\")" for messages.
std::string describe(const std::string& gw, const Attachment& attachment) {
    return fmt::format("{} ({}, network \"{}\")", gw, attachment.ifname, attachment.network);
}

[[noreturn]] void reject_ecmp(net::Family family, const std::vector<std::string>& requests) {
    throw cni::Error(
        cni::ErrorCode::InvalidNetworkConfig,
        fmt::format("multus does not support ECMP for default-route: {} IPv{} gateways "
                    "requested: {}; list at most one IPv4 and one IPv6 gateway in "
                    "\"default-route\" over all networks of the pod",
                    requests.size(), net::ip_version(family), fmt::join(requests, ", ")));
}

}  // namespace

bool DefaultRouteAction::clears(net::Family family) const {
    return family == net::Family::V4 ? (filter_v4 || gateway_v4.has_value())
                                     : (filter_v6 || gateway_v6.has_value());
}

std::optional<std::vector<DefaultRouteAction>> plan_default_routes(
    const std::vector<Attachment>& attachments) {
    const bool requested = std::any_of(
        attachments.begin(), attachments.end(),
        [](const Attachment& a) { return a.selection && a.selection->default_route.has_value(); });
    if (!requested) {
        return std::nullopt;
    }

    std::vector<DefaultRouteAction> actions;
    std::vector<std::string> v4_requests;
    std::vector<std::string> v6_requests;
    for (const auto& attachment : attachments) {
        DefaultRouteAction action;
        action.ifname = attachment.ifname;
        action.filter_v4 = true;
        action.filter_v6 = true;
        const bool has_list = attachment.selection && attachment.selection->default_route;
        for (const auto& text :
             has_list ? *attachment.selection->default_route : std::vector<std::string>{}) {
            const auto gw = net::parse_ip(text);
            if (!gw) {
                throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                                 fmt::format(R"(invalid "default-route" gateway "{}" for network )"
                                             "\"{}\" ({}): expected an IPv4 or IPv6 address",
                                             text, attachment.network, attachment.ifname));
            }
            const auto canonical = net::to_string(*gw);
            // As Multus: a family is unfiltered as soon as one gateway of it is listed; a second
            // one (even the same address again) is ECMP and rejected below.
            if (gw->is_v4()) {
                action.filter_v4 = false;
                action.gateway_v4 = canonical;
                v4_requests.push_back(describe(canonical, attachment));
            } else {
                action.filter_v6 = false;
                action.gateway_v6 = canonical;
                v6_requests.push_back(describe(canonical, attachment));
            }
        }
        actions.push_back(std::move(action));
    }
    if (v4_requests.size() > 1) {
        reject_ecmp(net::Family::V4, v4_requests);
    }
    if (v6_requests.size() > 1) {
        reject_ecmp(net::Family::V6, v6_requests);
    }
    return actions;
}

}  // namespace splitnet::plan
