#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "splitnet/net/ip.hpp"

namespace splitnet::net {

/// Bounded probing: `attempts` packets, each followed by up to `interval` of listening.
struct ProbeOptions {
    int attempts = 3;
    std::chrono::milliseconds interval{100};
};

/// RFC 5227 ARP probe for `address` (sender IP 0.0.0.0, so no neighbour cache anywhere learns
/// anything) sent from `ifname` inside the netns `netns_fd`. The link must be up. Returns the MAC
/// of a host that claims the address (its ARP reply, or its own probe/announcement for it),
/// nullopt when nobody did within the bound. Throws KernelError naming the socket operation.
std::optional<MacAddr> arp_probe_conflict(int netns_fd, std::string_view ifname,
                                          const IpAddr& address, const ProbeOptions& options = {});

/// ARP request for `target` from `sender` (our address on `ifname`). Returns the MAC of the
/// reply, nullopt when none came within the bound.
std::optional<MacAddr> arp_resolve(int netns_fd, std::string_view ifname, const IpAddr& sender,
                                   const IpAddr& target, const ProbeOptions& options = {});

/// NDP neighbour solicitation for `target` (to its solicited-node group) from `source` (our
/// usable, non-tentative address on `ifname`). Returns the MAC from the advertisement's
/// target link-layer option (all zero when the neighbour sent none), nullopt when no
/// advertisement for `target` came within the bound.
std::optional<MacAddr> ndp_resolve(int netns_fd, std::string_view ifname, const IpAddr& source,
                                   const IpAddr& target, const ProbeOptions& options = {});

/// TCP connect to `address`:`port` from inside the netns `netns_fd`, on a socket bound to
/// `ifname` (SO_BINDTODEVICE: only routes via that interface are used, whatever else the
/// pod's table says), within `timeout`. True when the handshake completed; the connection is
/// closed at once. Throws KernelError naming the socket operation that failed before the connect.
bool tcp_connect_probe(int netns_fd, std::string_view ifname, const IpAddr& address,
                       std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace splitnet::net
