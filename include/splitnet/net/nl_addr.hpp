#pragma once

#include "splitnet/net/ip.hpp"
#include "splitnet/net/nl_ptr.hpp"

namespace splitnet::net {

/// A libnl address holding `addr` with prefix length `prefix` (host bits kept).
NlAddrPtr make_nl_addr(const IpAddr& addr, int prefix);

/// Prefix length = the net's prefix.
NlAddrPtr make_nl_addr(const IpNet& net);

/// A libnl link-layer address.
NlAddrPtr make_nl_mac(const MacAddr& mac);

/// Reads an IPv4/IPv6 libnl address; a null or empty one gives the zero address of `family`
/// with prefix 0 (the kernel omits RTA_DST for default routes).
IpNet ip_net_from_nl(const nl_addr* addr, Family family);

}  // namespace splitnet::net
