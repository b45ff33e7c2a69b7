#pragma once

#include <vector>

#include "splitnet/net/ip.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::net {

struct AddressInfo {
    int ifindex = 0;
    IpNet local;         ///< address with its prefix length
    unsigned flags = 0;  ///< IFA_F_* (tentative, nodad, permanent, ...)
    int scope = 0;       ///< RT_SCOPE_*

    [[nodiscard]] bool tentative() const;
};

struct AddressOptions {
    /// IPv6 only: IFA_F_NODAD, so the address is usable at once (statically assigned addresses
    /// need no duplicate detection, and waiting for DAD costs ~2 s).
    bool no_dad = true;
    /// Accept an identical address that is already there.
    bool exist_ok = false;
};

/// Adds `addr` to the link `ifindex` as vishvananda/netlink's AddrAdd does (IFA_LOCAL and
/// IFA_ADDRESS, IPv4 broadcast computed for prefixes < 31, scope universe).
void add_address(Netlink& nl, int ifindex, const IpNet& addr, const AddressOptions& options = {});

/// Deletes an address; false when it was not there.
bool delete_address(Netlink& nl, int ifindex, const IpNet& addr);

/// Addresses of one link (ifindex 0: all links) of `family` (nullopt: both).
std::vector<AddressInfo> list_addresses(Netlink& nl, int ifindex, std::optional<Family> family);

}  // namespace splitnet::net
