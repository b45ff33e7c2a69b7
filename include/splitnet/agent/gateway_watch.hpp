#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "splitnet/agent/node_attachments.hpp"
#include "splitnet/net/probe.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::agent {

/// A change of a pod's VPN gateway that the pod's owner should hear about.
enum class GatewayTransition { Unreachable, Recovered };

/// The previous and current probe outcome of one gateway -> the event to send, if any. The
/// first probe only reports an unreachable gateway (a reachable one is the expected state);
/// recovery is only reported after an unreachable report. Pure.
std::optional<GatewayTransition> gateway_transition(std::optional<bool> previously_reachable,
                                                    bool reachable);

/// One transition of one pod's gateway, with the message for the pod's owner.
struct GatewayEvent {
    EgressTarget target;
    GatewayTransition transition = GatewayTransition::Unreachable;
    std::string message;
};

/// Receives the transitions of one round (Kubernetes Events in production; the watch logs each
/// one itself). Called from the watch thread; must not throw (failures are its own to log).
using GatewayEventSink = std::function<void(const std::vector<GatewayEvent>&)>;

/// The outcome of one probe of one egress attachment.
struct GatewayStatus {
    EgressTarget target;
    bool reachable = false;
    bool kill_switch_engaged = false;
    std::optional<bool> target_reachable;  ///< egress.probeTarget answered (when configured)
    double probed_at_unix_seconds = 0;     ///< when the probe started
    double probe_seconds = 0;              ///< how long it took
    double status_since_unix_seconds = 0;  ///< start of the first probe with this reachability
    std::uint64_t probes = 0;              ///< probes of this attachment since the agent started
};

/// Probes every egress attachment's gateway from inside its pod netns through its egress
/// interface: ARP for an IPv4 gateway (net::arp_resolve), NDP for an IPv6 one (net::ndp_resolve,
/// skipped while net1's address is tentative), each on a socket bound to that interface, so
/// nothing leaves via eth0 and no route is touched; plus whether the kill switch is what carries
/// the pod's default of that family now. Pods whose netns is gone are dropped silently.
class GatewayWatch {
public:
    GatewayWatch(net::ProbeOptions probe, GatewayEventSink sink);

    /// Bound of the TCP connect to egress.probeTarget.
    static constexpr std::chrono::seconds kTargetTimeout{2};

    /// One round over `targets`, on up to kMaxProbeThreads threads of its own (setns is per
    /// thread, and an unreachable gateway costs the probe's whole bound). Blocks until done.
    void probe_round(const std::vector<EgressTarget>& targets);

    /// The latest status of every target of the last round (thread-safe).
    [[nodiscard]] std::vector<GatewayStatus> snapshot() const;

    static constexpr std::size_t kMaxProbeThreads = 16;

private:
    struct Probed {
        bool netns_gone = false;
        bool not_ready = false;  ///< IPv6 source still tentative: not probed this round
        bool reachable = false;
        bool kill_switch_engaged = false;
        std::optional<bool> target_reachable;
        double started_unix = 0;
        double seconds = 0;
        std::string problem;  ///< why the probe could not run, for the log
    };

    Probed probe_one(const EgressTarget& target) const;

    net::ProbeOptions probe_;
    GatewayEventSink sink_;
    mutable std::mutex mutex_;
    std::map<std::string, GatewayStatus> statuses_;  ///< by target id
    std::map<std::string, std::string> told_;        ///< last problem logged, by target id
};

/// The watch's key of one target: container ID, runtime ifname and egress ifname.
std::string target_id(const EgressTarget& target);

/// True when the lowest-metric IPv4 default route of the main table is the kill switch
/// (unreachable), or when every default route above it is on a link that is down. Pure.
bool kill_switch_engaged(const std::vector<net::RouteInfo>& main_routes);

}  // namespace splitnet::agent
