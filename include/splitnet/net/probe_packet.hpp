#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "splitnet/net/ip.hpp"

namespace splitnet::net {

/// Wire formats of the probes (pure, unit-tested): ARP over Ethernet/IPv4 without the Ethernet
/// header (packet sockets of type SOCK_DGRAM add it), and the ICMPv6 part of NDP messages (the
/// kernel adds the IPv6 header and the ICMPv6 checksum).

/// An ARP request; `sender` 0.0.0.0 makes it an RFC 5227 probe.
std::vector<std::uint8_t> encode_arp_request(const MacAddr& sender_mac, const IpAddr& sender,
                                             const IpAddr& target);

/// For a conflict probe of `address` sent from `own_mac`: the MAC of another host that claims
/// `address` in `packet` (a reply or request with sender IP `address`, or a competing probe for
/// it), else nullopt.
std::optional<MacAddr> arp_conflict_in(std::span<const std::uint8_t> packet, const IpAddr& address,
                                       const MacAddr& own_mac);

/// The sender MAC when `packet` is an ARP reply from `target`, else nullopt.
std::optional<MacAddr> arp_reply_from(std::span<const std::uint8_t> packet, const IpAddr& target);

/// A neighbour solicitation for `target` carrying our source link-layer address option.
std::vector<std::uint8_t> encode_neighbour_solicitation(const MacAddr& own_mac,
                                                        const IpAddr& target);

/// ff02::1:ffXX:XXXX for `target`.
IpAddr solicited_node_group(const IpAddr& target);

/// When `packet` (ICMPv6) is a neighbour advertisement for `target`: its target link-layer
/// address (all zero if absent). Else nullopt.
std::optional<MacAddr> neighbour_advert_for(std::span<const std::uint8_t> packet,
                                            const IpAddr& target);

}  // namespace splitnet::net
