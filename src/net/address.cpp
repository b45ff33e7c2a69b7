#include "splitnet/net/address.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "splitnet/net/nl_addr.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

AddrPtr build_address(int ifindex, const IpNet& addr) {
    AddrPtr obj(rtnl_addr_alloc());
    if (!obj) {
        throw KernelError("rtnl_addr_alloc failed: out of memory");
    }
    rtnl_addr_set_ifindex(obj.get(), ifindex);
    rtnl_addr_set_family(obj.get(), address_family(addr.addr.family));
    const auto local = make_nl_addr(addr);
    const int rc = rtnl_addr_set_local(obj.get(), local.get());
    if (rc < 0) {
        throw KernelError(fmt::format("rtnl_addr_set_local {}: {}", to_string(addr), rc));
    }
    return obj;
}

}  // namespace

bool AddressInfo::tentative() const {
    return (flags & IFA_F_TENTATIVE) != 0;
}

void add_address(Netlink& nl, int ifindex, const IpNet& addr, const AddressOptions& options) {
    auto obj = build_address(ifindex, addr);
    rtnl_addr_set_scope(obj.get(), RT_SCOPE_UNIVERSE);
    if (addr.is_v4() && addr.prefix < 31) {
        const auto brd = make_nl_addr(broadcast_of(addr), 32);
        rtnl_addr_set_broadcast(obj.get(), brd.get());
    }
    if (!addr.is_v4() && options.no_dad) {
        rtnl_addr_set_flags(obj.get(), IFA_F_NODAD);
    }
    nl.clear_errno();
    const int rc = rtnl_addr_add(nl.sock(), obj.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (rc == -NLE_EXIST && options.exist_ok) {
        return;
    }
    nl.check(rc, fmt::format("add address {} to ifindex {}", to_string(addr), ifindex));
}

bool delete_address(Netlink& nl, int ifindex, const IpNet& addr) {
    auto obj = build_address(ifindex, addr);
    nl.clear_errno();
    const int rc = rtnl_addr_delete(nl.sock(), obj.get(), 0);
    if (rc == -NLE_NOADDR || rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
        return false;
    }
    nl.check(rc, fmt::format("delete address {} from ifindex {}", to_string(addr), ifindex));
    return true;
}

std::vector<AddressInfo> list_addresses(Netlink& nl, int ifindex, std::optional<Family> family) {
    std::vector<AddressInfo> out;
    nl.dump(
        RTM_GETADDR, family ? address_family(*family) : AF_UNSPEC, [&] { out.clear(); },
        [&](nl_object* obj) {
            auto* addr = reinterpret_cast<rtnl_addr*>(obj);  // NOLINT: libnl object cast
            const auto fam = family_from_af(rtnl_addr_get_family(addr));
            if ((ifindex != 0 && rtnl_addr_get_ifindex(addr) != ifindex) || !fam ||
                (family && *fam != *family)) {
                return;
            }
            AddressInfo info;
            info.ifindex = rtnl_addr_get_ifindex(addr);
            info.local = ip_net_from_nl(rtnl_addr_get_local(addr), *fam);
            info.local.prefix = rtnl_addr_get_prefixlen(addr);
            info.flags = rtnl_addr_get_flags(addr);
            info.scope = rtnl_addr_get_scope(addr);
            out.push_back(info);
        },
        fmt::format("list addresses of ifindex {}", ifindex));
    return out;
}

}  // namespace splitnet::net
