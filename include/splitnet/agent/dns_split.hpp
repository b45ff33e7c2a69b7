#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "splitnet/net/ip.hpp"
#include "splitnet/store/state.hpp"

namespace splitnet::agent {

/// One pod attachment whose egress block has `dns`: where the node agent answers its queries.
struct DnsTarget {
    store::StateKey key;               ///< the runtime's attachment (container ID, CNI_IFNAME)
    std::string netns;                 ///< CNI_NETNS as the runtime passed it
    std::string network;               ///< the egress network's name (logs)
    std::string ifname;                ///< the egress interface (net1): VPN queries are bound to it
    std::vector<net::IpAddr> servers;  ///< egress.dns.servers: reached from the pod's netns
    std::string cluster_domain;        ///< egress.dns.clusterDomain, lower case
    bool operator==(const DnsTarget&) const = default;
};

struct DnsSplitOptions {
    net::IpAddr
        cluster_dns;  ///< --cluster-dns: listened on in each pod, forwarded to from the node
    std::chrono::milliseconds upstream_timeout{std::chrono::milliseconds(2000)};
    /// Per pod: a token bucket of `burst` queries refilled at `queries_per_second`; queries over
    /// it are dropped (UDP) or end the connection (TCP).
    unsigned queries_per_second = 200;
    unsigned burst = 400;
    unsigned max_tcp_queries = 16;  ///< per TCP connection, pipelined A + AAAA included
};

/// Counters of the DNS split since the agent started (all pods).
struct DnsSplitCounters {
    std::atomic<std::uint64_t> cluster_answered{0};
    std::atomic<std::uint64_t> vpn_answered{0};
    std::atomic<std::uint64_t> failed{0};   ///< no upstream answered in time
    std::atomic<std::uint64_t> dropped{0};  ///< malformed, oversized or over the rate
};

/// The node agent's DNS split. For each pod with egress.dns it holds a UDP and a TCP socket
/// created in the pod's netns and bound to the cluster DNS Service IP, port 53 (the plugin put
/// that address on the pod's lo), served by two threads per pod (UDP; TCP, whose connections
/// take turns, so a slow one never holds up UDP). A query for a name in the
/// cluster domain goes to the cluster DNS from the node's netns; any other goes to the pod's
/// `servers` from a socket created in the pod's netns, so out through net1 and the VPN.
/// Replies are relayed unchanged. Nothing answers for a pod the agent does not serve: its
/// queries fail (fail closed), never take the path via eth0.
class DnsSplit {
public:
    explicit DnsSplit(DnsSplitOptions options);
    ~DnsSplit();  ///< stops every pod's threads and closes its sockets
    DnsSplit(const DnsSplit&) = delete;
    DnsSplit& operator=(const DnsSplit&) = delete;
    DnsSplit(DnsSplit&&) = delete;
    DnsSplit& operator=(DnsSplit&&) = delete;

    /// Serves exactly `targets`: starts pods that are new (or whose target changed), stops pods
    /// that are gone from the node's state or whose netns path no longer exists. A pod whose
    /// sockets cannot be made yet (netns or address missing) is retried at the next sync.
    void sync(const std::vector<DnsTarget>& targets);

    [[nodiscard]] std::size_t pods_served();

    [[nodiscard]] const DnsSplitCounters& counters() const { return counters_; }

    class PodServer;

private:
    DnsSplitOptions options_;
    DnsSplitCounters counters_;
    std::mutex mutex_;
    std::map<store::StateKey, std::unique_ptr<PodServer>> pods_;
};

}  // namespace splitnet::agent
