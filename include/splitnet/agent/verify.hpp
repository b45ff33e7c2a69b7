#pragma once

#include <optional>
#include <string>
#include <vector>

#include "splitnet/egress/plan.hpp"
#include "splitnet/net/ip.hpp"

namespace splitnet::agent {

/// What `splitnet verify` expects of IPv6 in the pod.
enum class Ipv6Expectation {
    Block,  ///< no IPv6 default route anywhere, the IPv6 kill switch in place (egress "block")
    Vpn,    ///< IPv6 default only via the VPN interface, with the kill switch (egress "route")
    Any,    ///< IPv6 is not looked at (egress "allow")
};

/// `splitnet verify` flags. The defaults fit the documented VPN NAD (conf/nad-unifi-vpn.yaml):
/// net1, any gateway, IPv6 blocked, eth0 as the cluster interface.
struct VerifyOptions {
    std::string vpn_interface = "net1";      ///< --interface
    std::string primary_interface = "eth0";  ///< --primary-interface
    std::optional<net::IpAddr> gateway;      ///< --gateway: the VPN default must use it
    Ipv6Expectation ipv6 = Ipv6Expectation::Block;
    bool help = false;
};

/// Parses the arguments after `verify` (`--name=value` or `--name value`). Throws
/// cni::Error(InvalidNetworkConfig) naming the flag for an unknown flag, a missing value, an
/// address that is not one, or an IPv6 mode other than block, vpn, any.
VerifyOptions parse_verify_options(const std::vector<std::string>& args);

/// The flag list for `verify --help`.
std::string verify_usage();

/// One link as verify needs it.
struct LinkState {
    std::string name;
    bool up = false;
};

/// What verify reads from the pod's netns: links and the routes of every table. Taken by
/// netlink dumps, which need no capability.
struct NetnsSnapshot {
    std::vector<LinkState> links;
    std::vector<egress::RouteEntry> routes;
};

/// Every way the snapshot falls short of the fail-closed VPN setup, as sentences that name what
/// is missing or wrong (empty = the pod is protected). Pure.
///
/// Checked: the VPN interface exists and is up; an IPv4 default via it (via --gateway when set);
/// the IPv4 kill switch (an unreachable, blackhole or prohibit default in the main table); no
/// default route (any table, any family) via another interface, eth0 included; no route via the
/// primary interface that is the only way out for everything (a default split in halves); and
/// IPv6 as configured.
std::vector<std::string> verify_problems(const VerifyOptions& options,
                                         const NetnsSnapshot& snapshot);

}  // namespace splitnet::agent
