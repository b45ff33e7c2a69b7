#include "splitnet/agent/gateway_watch.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <linux/rtnetlink.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::agent {
namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string transition_message(const EgressTarget& target, GatewayTransition transition) {
    const char* protocol = target.gateway.is_v4() ? "ARP" : "NDP";
    if (transition == GatewayTransition::Unreachable) {
        return fmt::format(
            "VPN gateway {} of network {} does not answer {} on {}: the pod's internet traffic "
            "is cut off (the egress policy keeps it off eth0); check the gateway",
            net::to_string(target.gateway), target.network, protocol, target.ifname);
    }
    return fmt::format("VPN gateway {} of network {} answers {} on {} again",
                       net::to_string(target.gateway), target.network, protocol, target.ifname);
}

// True while net1's IPv6 source address is still tentative (an NDP probe could not be sent
// from it yet); false when it is usable, or when net1 or the address is gone (the probe then
// fails and says so).
bool source_tentative(int netns_fd, const EgressTarget& target) {
    try {
        net::Netlink nl(netns_fd);
        const auto link = net::find_link(nl, target.ifname);
        if (!link) {
            return false;
        }
        for (const auto& address : net::list_addresses(nl, link->index, net::Family::V6)) {
            if (address.local.addr == target.source) {
                return address.tentative();
            }
        }
    } catch (const net::KernelError&) {
    }
    return false;
}

bool netns_exists(const std::string& path) {
    try {
        return net::open_netns_if_exists(path).has_value();
    } catch (const net::KernelError&) {
        return false;
    }
}

}  // namespace

std::optional<GatewayTransition> gateway_transition(std::optional<bool> previously_reachable,
                                                    bool reachable) {
    if (!reachable && previously_reachable.value_or(true)) {
        return GatewayTransition::Unreachable;
    }
    if (reachable && previously_reachable.has_value() && !*previously_reachable) {
        return GatewayTransition::Recovered;
    }
    return std::nullopt;
}

std::string target_id(const EgressTarget& target) {
    return fmt::format("{}@{}/{}/{}", target.key.container_id, target.key.ifname, target.ifname,
                       net::to_string(target.gateway));
}

bool kill_switch_engaged(const std::vector<net::RouteInfo>& main_routes) {
    std::vector<const net::RouteInfo*> defaults;
    for (const auto& route : main_routes) {
        if (route.dst.prefix == 0 && route.table == net::kMainTable) {
            defaults.push_back(&route);
        }
    }
    std::sort(defaults.begin(), defaults.end(),
              [](const auto* a, const auto* b) { return a->priority < b->priority; });
    for (const auto* route : defaults) {
        if (route->type == net::RouteType::Unreachable ||
            route->type == net::RouteType::Blackhole || route->type == net::RouteType::Prohibit) {
            return true;
        }
        const bool usable = std::any_of(
            route->nexthops.begin(), route->nexthops.end(), [](const net::Nexthop& hop) {
                return (hop.flags & (RTNH_F_LINKDOWN | RTNH_F_DEAD)) == 0;
            });
        if (usable) {
            return false;
        }
    }
    // No default route at all: nothing leaves either.
    return true;
}

GatewayWatch::GatewayWatch(net::ProbeOptions probe, GatewayEventSink sink)
    : probe_(probe), sink_(std::move(sink)) {}

GatewayWatch::Probed GatewayWatch::probe_one(const EgressTarget& target) const {
    Probed out;
    out.started_unix = unix_now();
    const auto started = std::chrono::steady_clock::now();
    try {
        auto netns = net::open_netns_if_exists(target.netns);
        if (!netns) {
            out.netns_gone = true;
            return out;
        }
        const bool v4 = target.gateway.is_v4();
        if (!v4 && source_tentative(netns->get(), target)) {
            out.not_ready = true;  // DAD still runs (after ADD, or after net1's carrier returned)
            return out;
        }
        try {
            // The socket is bound to net1 inside the pod netns (a packet socket on its ifindex
            // for ARP, SO_BINDTODEVICE for NDP); the probe enters the netns with RAII on this
            // thread only to create it. net1 missing or down is an unreachable gateway.
            out.reachable = (v4 ? net::arp_resolve(netns->get(), target.ifname, target.source,
                                                   target.gateway, probe_)
                                : net::ndp_resolve(netns->get(), target.ifname, target.source,
                                                   target.gateway, probe_))
                                .has_value();
        } catch (const net::KernelError& e) {
            out.problem = e.what();
        }
        if (target.probe_target) {
            // Through the tunnel: a TCP handshake on a socket bound to net1 (never eth0).
            try {
                out.target_reachable = net::tcp_connect_probe(
                    netns->get(), target.ifname, target.probe_target->address,
                    target.probe_target->port, kTargetTimeout);
            } catch (const net::KernelError& e) {
                out.target_reachable = false;
                out.problem = e.what();
            }
        }
        // After the probes: the routes as the probes found the link.
        try {
            net::Netlink nl(netns->get());
            out.kill_switch_engaged =
                kill_switch_engaged(net::list_routes(nl, v4 ? net::Family::V4 : net::Family::V6));
        } catch (const net::KernelError& e) {
            out.problem = e.what();
        }
    } catch (const net::KernelError& e) {
        out.problem = e.what();
    }
    // A netns that vanished meanwhile is a pod that is gone, not a problem.
    if (!out.problem.empty() && !netns_exists(target.netns)) {
        out.netns_gone = true;
        return out;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
}

void GatewayWatch::probe_round(const std::vector<EgressTarget>& targets) {
    std::vector<Probed> results(targets.size());
    std::atomic<std::size_t> next{0};
    const auto worker = [&] {
        for (auto i = next.fetch_add(1); i < targets.size(); i = next.fetch_add(1)) {
            results[i] = probe_one(targets[i]);
        }
    };
    const auto thread_count = std::min(kMaxProbeThreads, targets.size());
    {
        std::vector<std::jthread> threads;
        threads.reserve(thread_count);
        for (std::size_t i = 0; i < thread_count; ++i) {
            threads.emplace_back(worker);
        }
    }  // joined

    std::vector<std::pair<std::size_t, GatewayTransition>> transitions;
    {
        const std::lock_guard lock(mutex_);
        std::map<std::string, GatewayStatus> next_statuses;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const auto& probed = results[i];
            if (probed.netns_gone) {
                continue;
            }
            const auto id = target_id(targets[i]);
            const auto previous = statuses_.find(id);
            if (probed.not_ready) {
                if (previous != statuses_.end()) {
                    next_statuses.emplace(id, previous->second);  // as last seen
                }
                continue;
            }
            std::optional<bool> was_reachable;
            GatewayStatus status;
            status.status_since_unix_seconds = probed.started_unix;
            if (previous != statuses_.end()) {
                was_reachable = previous->second.reachable;
                status.probes = previous->second.probes;
                if (previous->second.reachable == probed.reachable) {
                    status.status_since_unix_seconds = previous->second.status_since_unix_seconds;
                }
            }
            if (const auto transition = gateway_transition(was_reachable, probed.reachable)) {
                transitions.emplace_back(i, *transition);
            }
            status.target = targets[i];
            status.reachable = probed.reachable;
            status.kill_switch_engaged = probed.kill_switch_engaged;
            status.target_reachable = probed.target_reachable;
            status.probed_at_unix_seconds = probed.started_unix;
            status.probe_seconds = probed.seconds;
            ++status.probes;
            next_statuses.emplace(id, std::move(status));
            // The same problem (net1 missing, ...) is logged once, not every interval.
            auto& told = told_[id];
            if (!probed.problem.empty() && probed.problem != told) {
                spdlog::warn("gateway watch: pod {}/{}: {}", targets[i].pod.namespace_,
                             targets[i].pod.name, probed.problem);
            }
            told = probed.problem;
        }
        statuses_ = std::move(next_statuses);
        std::erase_if(told_,
                      [this](const auto& entry) { return !statuses_.contains(entry.first); });
    }
    std::vector<GatewayEvent> events;
    for (const auto& [index, transition] : transitions) {
        const auto& target = targets[index];
        auto message = transition_message(target, transition);
        if (transition == GatewayTransition::Unreachable) {
            spdlog::warn("pod {}/{}: {}", target.pod.namespace_, target.pod.name, message);
        } else {
            spdlog::info("pod {}/{}: {}", target.pod.namespace_, target.pod.name, message);
        }
        events.push_back({target, transition, std::move(message)});
    }
    if (sink_ && !events.empty()) {
        sink_(events);
    }
}

std::vector<GatewayStatus> GatewayWatch::snapshot() const {
    const std::lock_guard lock(mutex_);
    std::vector<GatewayStatus> out;
    out.reserve(statuses_.size());
    for (const auto& [id, status] : statuses_) {
        out.push_back(status);
    }
    return out;
}

}  // namespace splitnet::agent
