#pragma once

#include <optional>
#include <string>
#include <vector>

#include "splitnet/cni/result.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/net/ip.hpp"

namespace splitnet::egress {

/// The egress policy of one pod: config + context + net1's addressing, validated and expanded.
struct ResolvedEgress {
    std::string egress_ifname;            ///< net1
    std::string primary_ifname;           ///< eth0
    net::IpAddr gateway4;                 ///< always set: external IPv4 leaves via this address
    std::optional<net::IpAddr> gateway6;  ///< set iff ipv6 == Route
    /// Destinations that stay on the primary interface: presets expanded, networks only,
    /// duplicates and prefixes inside another entry dropped, sorted (v4 first, then by length).
    std::vector<net::IpNet> keep;
    Ipv6Policy ipv6 = Ipv6Policy::Block;
    GatewayProbe probe_gateway = GatewayProbe::Warn;
    bool probe_conflict = true;
    std::vector<net::IpNet> egress_addresses;  ///< net1's addresses (full address + prefix length)

    /// keep entries of one family (v6 keep only matters when ipv6 != Allow).
    [[nodiscard]] std::vector<net::IpNet> keep_of(net::Family family) const;
    /// Families whose routes egress manages: {V4} or {V4, V6}.
    [[nodiscard]] std::vector<net::Family> managed_families() const;
};

/// Expands `keep` and fills gateway defaults from net1's IPAM result (`egress_ips`, as returned
/// by the static IPAM: CIDR + optional gateway). Throws cni::Error(InvalidNetworkConfig) naming
/// the key when the policy cannot work: no IPv4 address on net1, no IPv4 gateway, a gateway
/// outside net1's subnets, a keep CIDR inside net1's subnet, ipv6 "route" without a v6 gateway.
ResolvedEgress resolve_egress(const EgressConfig& config, const SplitnetContext& context,
                              const std::string& egress_ifname,
                              const std::vector<cni::IpConfig>& egress_ips);

}  // namespace splitnet::egress
