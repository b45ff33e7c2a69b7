#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/net/ip.hpp"

namespace splitnet::egress {

enum class Ipv6Policy { Block, Allow, Route };
enum class GatewayProbe { Off, Warn, Require };

/// Which part of a native ADD with an egress block a call does. With "overlap" the meta plugin
/// splits it: link, addresses and routes while the primary runs, the policy (which needs the
/// primary's routes in the pod) once the primary was added.
enum class EgressStep {
    Whole,         ///< everything (no "egressStep")
    BeforePolicy,  ///< "beforePolicy": all but the policy step
    PolicyOnly,    ///< "policy": the policy step alone, on the link prevResult describes
};

/// One `keep` entry: a preset or a CIDR.
struct KeepEntry {
    enum class Kind { Cluster, Private, Cidr };
    Kind kind = Kind::Cidr;
    net::IpNet cidr;  ///< only for Kind::Cidr
};

/// `probeTarget`: a TCP endpoint behind the VPN that the node agent connects to through net1,
/// to show that the tunnel itself carries traffic (the ADD path does not use it).
struct ProbeTarget {
    net::IpAddr address;
    std::uint16_t port = 0;
    bool operator==(const ProbeTarget&) const = default;
};

/// "tcp://1.1.1.1:443" or "tcp://[2001:db8::1]:443" (an address, never a name); nullopt
/// otherwise. Pure.
std::optional<ProbeTarget> parse_probe_target(std::string_view text);

/// "tcp://1.1.1.1:443".
std::string to_string(const ProbeTarget& target);

/// `egress.dns`: the pod's DNS split (cluster names to the cluster DNS from the node, every other
/// name to `servers` through the pod's egress interface). Untrusted NAD input: addresses only.
struct DnsSplit {
    std::vector<net::IpAddr> servers;              ///< 1..kMaxDnsServers addresses, in order
    std::string cluster_domain = "cluster.local";  ///< lower case, no trailing dot
    bool operator==(const DnsSplit&) const = default;
};

inline constexpr std::size_t kMaxDnsServers = 3;

/// True when `text` is a DNS name of letters, digits and hyphens (labels 1..63, no leading or
/// trailing hyphen, at most 253 characters, no trailing dot). Pure.
bool is_dns_name(std::string_view text);

/// The `egress` block of a macvlan network config, as written (defaults applied, nothing
/// resolved against the pod yet).
struct EgressConfig {
    std::optional<net::IpAddr> gateway4;
    std::optional<net::IpAddr> gateway6;
    std::vector<KeepEntry> keep = {KeepEntry{KeepEntry::Kind::Cluster, {}}};
    Ipv6Policy ipv6 = Ipv6Policy::Block;
    GatewayProbe probe_gateway = GatewayProbe::Warn;
    bool probe_conflict = true;
    std::optional<ProbeTarget> probe_target;
    std::optional<DnsSplit> dns;
};

/// What the meta plugin tells a native attachment about the pod (top-level key
/// "splitnetContext" of the plugin config; absent in standalone use).
struct SplitnetContext {
    bool present = false;
    std::string primary_ifname = "eth0";
    /// clusterCIDRs of the meta config, then the subnets of the primary's ips and the
    /// non-default route destinations of its result (networks, in that order).
    std::vector<net::IpNet> cluster_cidrs;
    /// The cluster DNS Service address from the node config ("clusterDNS", trusted): the
    /// address egress.dns puts on the pod's lo. Never taken from a NAD.
    std::optional<net::IpAddr> cluster_dns;
};

/// Prefixes in egress config (ours, not Go's): the length without leading zeros.
inline constexpr net::CidrSyntax kEgressCidrSyntax{.allow_length_leading_zeros = false};

inline constexpr const char* kEgressKey = "egress";
inline constexpr const char* kContextKey = "splitnetContext";

/// Parses `plugin_conf["egress"]`. Returns nullopt when the key is absent. Throws
/// cni::Error(InvalidNetworkConfig) naming the key ("egress.keep[1]: ...") for bad input.
std::optional<EgressConfig> parse_egress_config(const nlohmann::json& plugin_conf);

/// `plugin_conf["splitnetContext"]["egressStep"]`: Whole without an "egress" block, whatever the
/// config says (the meta plugin replaces the whole context of every plugin with an egress block,
/// so the step never comes from a NAD). Reads nothing else of the context: its other errors
/// stay where the policy is resolved. Throws cni::Error(InvalidNetworkConfig) for a bad value.
EgressStep parse_egress_step(const nlohmann::json& plugin_conf);

/// Parses `plugin_conf["splitnetContext"]` (absent -> present=false, ifname "eth0").
/// Throws cni::Error(InvalidNetworkConfig) naming the key for malformed content.
SplitnetContext parse_splitnet_context(const nlohmann::json& plugin_conf);

/// The three RFC 1918 ranges behind the "private" preset.
std::vector<net::IpNet> private_prefixes();

}  // namespace splitnet::egress
