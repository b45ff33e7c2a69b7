#include "splitnet/net/nl_addr.hpp"

#include <algorithm>
#include <cstring>

#include <sys/socket.h>

#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

NlAddrPtr make_nl_addr(const IpAddr& addr, int prefix) {
    NlAddrPtr out(nl_addr_build(address_family(addr.family), addr.bytes.data(), addr.size()));
    if (!out) {
        throw KernelError("nl_addr_build failed: out of memory");
    }
    nl_addr_set_prefixlen(out.get(), prefix);
    return out;
}

NlAddrPtr make_nl_addr(const IpNet& net) {
    return make_nl_addr(net.addr, net.prefix);
}

NlAddrPtr make_nl_mac(const MacAddr& mac) {
    NlAddrPtr out(nl_addr_build(AF_LLC, mac.data(), mac.size()));
    if (!out) {
        throw KernelError("nl_addr_build failed: out of memory");
    }
    return out;
}

IpNet ip_net_from_nl(const nl_addr* addr, Family family) {
    IpNet out{zero_address(family), 0};
    if (addr == nullptr) {
        return out;
    }
    const auto fam = nl_addr_get_family(addr);
    const auto len = nl_addr_get_len(addr);
    if (const auto read = family_from_af(fam)) {
        out.addr.family = *read;
    }
    const auto copy = std::min<std::size_t>(len, out.addr.size());
    std::memcpy(out.addr.bytes.data(), nl_addr_get_binary_addr(addr), copy);
    out.prefix = static_cast<int>(nl_addr_get_prefixlen(addr));
    return out;
}

}  // namespace splitnet::net
