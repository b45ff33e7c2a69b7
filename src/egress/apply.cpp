#include "splitnet/egress/apply.hpp"

#include <optional>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/egress/kernel.hpp"
#include "splitnet/egress/plan.hpp"
#include "splitnet/egress/resolve.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/probe.hpp"
#include "splitnet/net/sysctl.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/rollback.hpp"

namespace splitnet::egress {

namespace {

bool ipv6_enabled() {
    // The kernel may run without IPv6 (ipv6.disable=1): then there is nothing to block.
    return ::access("/proc/sys/net/ipv6", F_OK) == 0;
}

std::optional<ResolvedEgress> load_policy(const nlohmann::json& conf, const EgressTarget& target) {
    auto config = parse_egress_config(conf);
    if (!config) {
        return std::nullopt;
    }
    if (config->ipv6 != Ipv6Policy::Allow && !ipv6_enabled()) {
        if (config->ipv6 == Ipv6Policy::Route) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             "egress.ipv6: \"route\" but the kernel has IPv6 disabled");
        }
        spdlog::info("egress: IPv6 is disabled in the kernel, nothing to block");
        config->ipv6 = Ipv6Policy::Allow;
    }
    return resolve_egress(*config, parse_splitnet_context(conf), target.ifname, target.ips);
}

/// net1's address in the gateway's subnet (the probe's sender), else its first of the family.
std::optional<net::IpAddr> source_for(const ResolvedEgress& policy, const net::IpAddr& gateway) {
    std::optional<net::IpAddr> first;
    for (const auto& a : policy.egress_addresses) {
        if (a.family() != gateway.family) {
            continue;
        }
        if (a.contains(gateway)) {
            return a.addr;
        }
        if (!first) {
            first = a.addr;
        }
    }
    return first;
}

std::string master_name(const EgressTarget& target) {
    // net1's IFLA_LINK names the master by its index in the node netns, where this thread is.
    net::Netlink pod(target.netns_fd);
    const auto link = net::find_link(pod, target.ifname);
    if (!link || link->parent_index == 0) {
        return "unknown";
    }
    net::Netlink node;
    const auto master = net::find_link(node, link->parent_index);
    return master ? master->name : fmt::format("ifindex {}", link->parent_index);
}

void probe_gateway(const ResolvedEgress& policy, const EgressTarget& target,
                   const net::IpAddr& gateway) {
    const auto source = source_for(policy, gateway);
    if (!source) {
        return;  // resolve_egress guarantees one; nothing to probe from otherwise
    }
    const net::ProbeOptions options;
    const auto mac =
        gateway.is_v4()
            ? net::arp_resolve(target.netns_fd, target.ifname, *source, gateway, options)
            : net::ndp_resolve(target.netns_fd, target.ifname, *source, gateway, options);
    if (mac) {
        spdlog::debug("egress: gateway {} answered from {}", net::to_string(gateway),
                      net::to_string(*mac));
        return;
    }
    const auto message = fmt::format(
        "egress: the VPN gateway {} did not answer {} on {} (master {}) within {} x {} ms; check "
        "that the gateway is up and on the master's segment/VLAN",
        net::to_string(gateway), gateway.is_v4() ? "ARP" : "NDP", target.ifname,
        master_name(target), options.attempts, options.interval.count());
    if (policy.probe_gateway == GatewayProbe::Require) {
        throw cni::Error(cni::ErrorCode::TryAgainLater, message);
    }
    spdlog::warn("{} (probeGateway is \"warn\": continuing)", message);
}

/// egress.dns: the cluster DNS Service address that goes on the pod's lo (nullopt without
/// egress.dns). It comes from the node config through splitnetContext, never from the NAD.
std::optional<net::IpNet> dns_local_address(const nlohmann::json& conf) {
    const auto config = parse_egress_config(conf);
    if (!config || !config->dns) {
        return std::nullopt;
    }
    const auto context = parse_splitnet_context(conf);
    if (!context.cluster_dns) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         "egress.dns: the node has no cluster DNS Service IP configured; run "
                         "`splitnet install --cluster-dns=IP` (node config key \"clusterDNS\")");
    }
    return net::IpNet{*context.cluster_dns, context.cluster_dns->max_prefix()};
}

/// The pod's lo, up: the runtime normally brings it up, a bare netns has it down.
int loopback_up(net::Netlink& nl) {
    const auto lo = net::get_link(nl, "lo");
    if (!lo.is_up()) {
        net::set_link_up(nl, lo.index);
    }
    return lo.index;
}

void delete_ours(net::Netlink& nl) {
    for (const auto& r : routes_to_delete(observe_routes(nl))) {
        if (r.kind == RouteKind::Unicast && !r.dev.empty() && !net::find_link(nl, r.dev)) {
            continue;  // its link is gone, and the route with it
        }
        remove_route(nl, r);
    }
}

void before_addresses(const nlohmann::json& conf, const EgressTarget& target) {
    const auto policy = load_policy(conf, target);
    if (!policy) {
        return;
    }
    (void)dns_local_address(conf);  // config errors before any address exists
    const auto v4 = fmt::format("net/ipv4/conf/{}/", target.ifname);
    std::vector<std::pair<std::string, std::string>> sysctls = {
        // Loose: replies from the internet come in on net1 and cluster traffic on eth0; strict
        // mode would drop either whenever the routes and the sources disagree.
        {v4 + "rp_filter", "2"},
        {v4 + "arp_notify", "1"},
    };
    if (policy->ipv6 != Ipv6Policy::Allow) {
        // Before link-up: an RA on the VPN segment must never add an address or a route.
        const auto v6 = fmt::format("net/ipv6/conf/{}/", target.ifname);
        sysctls.emplace_back(v6 + "accept_ra", "0");
        sysctls.emplace_back(v6 + "autoconf", "0");
    }
    net::write_sysctls_in(target.netns_fd, sysctls);

    if (!policy->probe_conflict) {
        return;
    }
    // The probe needs a running link. It goes down again afterwards so that the native path's
    // link-up, with the addresses in place, still makes arp_notify announce them.
    net::Netlink nl(target.netns_fd);
    const auto link = net::get_link(nl, target.ifname);
    if (!link.is_up()) {
        net::set_link_up(nl, link.index);
    }
    util::Rollback restore([&] {
        if (!link.is_up()) {
            net::set_link_up(nl, link.index, false);
        }
    });
    for (const auto& address : policy->egress_addresses) {
        if (!address.is_v4()) {
            continue;
        }
        if (const auto mac =
                net::arp_probe_conflict(target.netns_fd, target.ifname, address.addr)) {
            throw cni::Error(
                cni::ErrorCode::TryAgainLater,
                fmt::format("egress: {} is already in use on {}'s segment by {} "
                            "(ARP probe); refusing to take it",
                            net::to_string(address.addr), target.ifname, net::to_string(*mac)));
        }
    }
}

void after_routes(const nlohmann::json& conf, const EgressTarget& target) {
    const auto policy = load_policy(conf, target);
    if (!policy) {
        return;
    }
    if (policy->probe_gateway != GatewayProbe::Off) {
        probe_gateway(*policy, target, policy->gateway4);
        if (policy->gateway6) {
            probe_gateway(*policy, target, *policy->gateway6);
        }
    }
    net::Netlink nl(target.netns_fd);
    const auto plan = plan_egress(*policy, observe_routes(nl));
    // Anything we added goes again if a later step fails; eth0's removed routes stay removed
    // (fail closed: the pod is torn down anyway).
    util::Rollback undo([&] { delete_ours(nl); });
    for (const auto& r : plan.add_first) {
        install_route(nl, r);
    }
    for (const auto& r : plan.remove) {
        remove_leaking_route(nl, r);
    }
    for (const auto& r : plan.add_last) {
        install_route(nl, r);
    }
    if (const auto dns = dns_local_address(conf)) {
        // Queries to the cluster DNS Service now stay in the pod's netns, where the node agent
        // answers (or, when it is down, nothing does: fail closed). The attachment's state,
        // written before net1 existed, already holds the config that says so: DEL (and a
        // retried ADD) take the address off again.
        net::AddressOptions options;
        options.exist_ok = true;
        net::add_address(nl, loopback_up(nl), *dns, options);
    }
    undo.dismiss();
    spdlog::debug("egress: {} routes added, {} removed on {}",
                  plan.add_first.size() + plan.add_last.size(), plan.remove.size(), target.ifname);
}

void check(const nlohmann::json& conf, const EgressTarget& target) {
    const auto policy = load_policy(conf, target);
    if (!policy) {
        return;
    }
    net::Netlink nl(target.netns_fd);
    auto problems = check_egress(*policy, observe_routes(nl));
    const auto expect_sysctl = [&](const std::string& key, const std::string& want) {
        const auto got = net::read_sysctl_in(target.netns_fd, key);
        if (got != want) {
            problems.push_back(fmt::format("{} is {}, expected {}", key, got, want));
        }
    };
    expect_sysctl(fmt::format("net/ipv4/conf/{}/rp_filter", target.ifname), "2");
    if (const auto dns = dns_local_address(conf)) {
        const auto lo = net::find_link(nl, "lo");
        bool present = false;
        if (lo) {
            for (const auto& a : net::list_addresses(nl, lo->index, dns->addr.family)) {
                present = present || (a.local.addr == dns->addr && a.local.prefix == dns->prefix);
            }
        }
        if (!present || !lo->is_up()) {
            problems.push_back(
                fmt::format("egress.dns: {} is not on the pod's lo (up)", net::to_string(*dns)));
        }
    }
    if (policy->ipv6 != Ipv6Policy::Allow) {
        expect_sysctl(fmt::format("net/ipv6/conf/{}/accept_ra", target.ifname), "0");
        expect_sysctl(fmt::format("net/ipv6/conf/{}/autoconf", target.ifname), "0");
    }
    if (problems.empty()) {
        return;
    }
    std::string text;
    for (const auto& p : problems) {
        text += (text.empty() ? "" : "; ") + p;
    }
    throw cni::Error(cni::ErrorCode::Other,
                     fmt::format("egress policy of {} is not in place: {}", target.ifname, text));
}

void del(const nlohmann::json& conf, int netns_fd) {
    if (!conf.is_object() || !conf.contains(kEgressKey) || conf[kEgressKey].is_null()) {
        return;
    }
    try {
        net::Netlink nl(netns_fd);
        delete_ours(nl);
    } catch (const std::exception& e) {
        spdlog::warn("egress: removing the egress routes failed: {}", e.what());
    }
    try {
        if (const auto dns = dns_local_address(conf)) {
            net::Netlink nl(netns_fd);
            if (const auto lo = net::find_link(nl, "lo")) {
                net::delete_address(nl, lo->index, *dns);
            }
        }
    } catch (const std::exception& e) {
        spdlog::warn("egress: removing the DNS address from lo failed: {}", e.what());
    }
}

nlohmann::json parse_config(std::string_view config) {
    return util::parse_json_bounded(config, "egress: cannot parse the network config",
                                    {util::kMaxConfigBytes, util::kMaxComposedJsonDepth});
}

}  // namespace

void egress_before_addresses(std::string_view config, const EgressTarget& target) {
    before_addresses(parse_config(config), target);
}

void egress_after_routes(std::string_view config, const EgressTarget& target) {
    after_routes(parse_config(config), target);
}

EgressStep egress_step(std::string_view config) {
    if (config.find("\"egressStep\"") == std::string_view::npos) {
        return EgressStep::Whole;  // the common case, without a second parse of the config
    }
    const auto conf = parse_config(config);
    return conf.is_object() ? parse_egress_step(conf) : EgressStep::Whole;
}

void egress_check(std::string_view config, const EgressTarget& target) {
    check(parse_config(config), target);
}

void egress_del(std::string_view config, int netns_fd) {
    const auto conf =
        util::try_parse_json_bounded(config, {util::kMaxConfigBytes, util::kMaxComposedJsonDepth})
            .value_or(nlohmann::json());
    del(conf, netns_fd);
}

}  // namespace splitnet::egress
