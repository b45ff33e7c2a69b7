#include <tuple>

#include <spdlog/spdlog.h>

#include "splitnet/net/ip.hpp"
#include "splitnet/verbs/default_route.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// The family of `route` when it is a default route (prefix 0: "0.0.0.0/0", "::/0", "::0/0").
std::optional<net::Family> default_route_family(const json& route) {
    if (!route.is_object()) {
        return std::nullopt;
    }
    const auto it = route.find("dst");
    if (it == route.end() || !it->is_string()) {
        return std::nullopt;
    }
    const auto dst = net::parse_cidr(it->get<std::string>());
    if (!dst || !dst->is_default()) {
        return std::nullopt;
    }
    return dst->family();
}

void drop_cleared(json& routes, const plan::DefaultRouteAction& action) {
    if (!routes.is_array()) {
        return;
    }
    json kept = json::array();
    for (auto& route : routes) {
        const auto family = default_route_family(route);
        if (!family || !action.clears(*family)) {
            kept.push_back(std::move(route));
        }
    }
    routes = std::move(kept);
}

json default_route(net::Family family, const std::string& gw) {
    return {{"dst", net::to_string(net::default_prefix(family))}, {"gw", gw}};
}

// 0.1.0/0.2.0: one block per family, each with its own routes.
void rewrite_legacy(json& result, const plan::DefaultRouteAction& action) {
    for (const auto& [key, family, gw] : {std::tuple{"ip4", net::Family::V4, action.gateway_v4},
                                          std::tuple{"ip6", net::Family::V6, action.gateway_v6}}) {
        auto block = result.find(key);
        if (block == result.end() || !block->is_object()) {
            if (gw) {
                spdlog::warn(
                    "default route via {} on {} cannot be recorded in its 0.2.0 result: the "
                    "result has no {} block",
                    *gw, action.ifname, key);
            }
            continue;
        }
        if (auto routes = block->find("routes"); routes != block->end()) {
            drop_cleared(*routes, action);
        }
        if (gw) {
            (*block)["routes"].push_back(default_route(family, *gw));
        }
    }
}

}  // namespace

void rewrite_default_routes(json& result, const plan::DefaultRouteAction& action) {
    if (!result.is_object()) {
        return;
    }
    if (!result.contains("ips") && (result.contains("ip4") || result.contains("ip6"))) {
        rewrite_legacy(result, action);
        return;
    }
    if (auto routes = result.find("routes"); routes != result.end()) {
        drop_cleared(*routes, action);
    }
    if (action.gateway_v4) {
        result["routes"].push_back(default_route(net::Family::V4, *action.gateway_v4));
    }
    if (action.gateway_v6) {
        result["routes"].push_back(default_route(net::Family::V6, *action.gateway_v6));
    }
}

}  // namespace splitnet::verbs
