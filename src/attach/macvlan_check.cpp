#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "macvlan_common.hpp"
#include "splitnet/attach/egress_apply.hpp"
#include "splitnet/attach/macvlan.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::attach {

namespace {

void check_interface(net::Netlink& pod, const cni::Interface& want, const MacvlanConfig& conf) {
    if (want.name.empty()) {
        cni::fail(cni::ErrorCode::Other, "container interface name missing in prevResult: ");
    }
    const auto link = net::find_link(pod, want.name);
    if (!link) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("container Interface name in prevResult: {} not found", want.name));
    }
    if (want.sandbox.empty()) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("error: Container interface {} should not be in host namespace",
                              link->name));
    }
    if (!link->macvlan_mode) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("error: Container interface {} not of type macvlan", link->name));
    }
    if (*link->macvlan_mode != conf.mode) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("container macvlan mode {} does not match expected value: {}",
                              net::to_string(*link->macvlan_mode), net::to_string(conf.mode)));
    }
    if (!want.mac.empty() && want.mac != link->mac) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("interface {} Mac {} doesn't match container Mac: {}", want.name,
                              want.mac, link->mac));
    }
}

bool same_prefix(const net::IpNet& a, const net::IpNet& b) {
    return a.prefix == b.prefix && a.network() == b.network();
}

// ip.ValidateExpectedInterfaceIPs: each address is on the link and its prefix is routed.
void check_addresses(net::Netlink& pod, int ifindex, const std::string& ifname,
                     const std::vector<cni::IpConfig>& ips) {
    const auto have = net::list_addresses(pod, ifindex, std::nullopt);
    for (const auto& ip : ips) {
        const auto want = net::parse_cidr(ip.address);
        if (!want) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to match addr {} on interface {}", ip.address, ifname));
        }
        const bool present =
            std::any_of(have.begin(), have.end(), [&](const auto& a) { return a.local == *want; });
        if (!present) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to match addr {} on interface {}", ip.address, ifname));
        }
        const auto routes = net::list_routes(pod, want->addr.family, net::kMainTable);
        const bool routed = std::any_of(routes.begin(), routes.end(),
                                        [&](const auto& r) { return same_prefix(r.dst, *want); });
        if (!routed) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to find Gateway {} for interface {}",
                                  net::to_string(want->network()), ifname));
        }
    }
}

// ip.ValidateExpectedRoute, but in the table the route was installed in (not only main), and a
// gateway-less route matches on its destination alone (the v1.1.1 bug is not copied).
void check_routes(net::Netlink& pod, const std::vector<cni::Route>& routes) {
    for (const auto& r : routes) {
        const auto dst = net::parse_cidr(r.dst);
        if (!dst) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Expected Route {} not found in routing table", r.dst));
        }
        std::optional<net::IpAddr> gw;
        if (!r.gw.empty()) {
            gw = net::parse_ip(r.gw);
        }
        const auto table = r.table ? static_cast<std::uint32_t>(*r.table) : net::kMainTable;
        const auto installed = net::list_routes(pod, dst->addr.family, table);
        const bool found = std::any_of(installed.begin(), installed.end(), [&](const auto& have) {
            if (!same_prefix(have.dst, *dst)) {
                return false;
            }
            return !gw || std::any_of(have.nexthops.begin(), have.nexthops.end(),
                                      [&](const auto& hop) { return hop.gw == gw; });
        });
        if (!found) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Expected Route {{Dst:{} GW:{}}} not found in routing table {}",
                                  r.dst, r.gw.empty() ? "<nil>" : r.gw, table));
        }
    }
}

}  // namespace

void macvlan_check(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    detail::Session session(call);
    const auto& conf = session.conf;
    const auto& pod_fd = session.pod_fd;
    net::Netlink& pod = session.pod;

    if (conf.ipam_type == "static") {
        try {
            static_ipam_check(call.config, call.cni_args, call.ifname);
        } catch (...) {
            detail::rethrow_as_plugin_error();
        }
    } else if (detail::ipam_is_exec(conf)) {
        ipam.invoke(detail::ipam_call(call, cni::Verb::Check, conf.ipam_type));
    }

    if (!conf.prev_result) {
        cni::fail(cni::ErrorCode::Other, "required prevResult missing");
    }
    const auto prev = cni::parse_result(*conf.prev_result, conf.cni_version);
    cni::Interface mine;
    for (const auto& iface : prev.interfaces) {
        if (iface.name == call.ifname && iface.sandbox == call.netns) {
            mine = iface;
        }
    }
    if (mine.sandbox != call.netns) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("sandbox in prevResult {} doesn't match configured netns: {}",
                              mine.sandbox, call.netns));
    }
    check_interface(pod, mine, conf);
    const auto link = net::get_link(pod, call.ifname);
    check_addresses(pod, link.index, call.ifname, prev.ips);
    check_routes(pod, prev.routes);
    egress_check(call.config, {pod_fd.get(), call.ifname, prev.ips});
}

}  // namespace splitnet::attach
