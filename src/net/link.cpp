#include "splitnet/net/link.hpp"

#include <string>

#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/link/macvlan.h>

#include <fmt/format.h>

#include "splitnet/net/nl_addr.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

LinkPtr alloc_link() {
    LinkPtr link(rtnl_link_alloc());
    if (!link) {
        throw KernelError("rtnl_link_alloc failed: out of memory");
    }
    return link;
}

std::optional<MacvlanMode> mode_from_kernel(std::uint32_t mode) {
    switch (mode) {
        case MACVLAN_MODE_PRIVATE:
            return MacvlanMode::Private;
        case MACVLAN_MODE_VEPA:
            return MacvlanMode::Vepa;
        case MACVLAN_MODE_BRIDGE:
            return MacvlanMode::Bridge;
        case MACVLAN_MODE_PASSTHRU:
            return MacvlanMode::Passthru;
        case MACVLAN_MODE_SOURCE:
            return MacvlanMode::Source;
        default:
            return std::nullopt;
    }
}

std::uint32_t mode_to_kernel(MacvlanMode mode) {
    switch (mode) {
        case MacvlanMode::Private:
            return MACVLAN_MODE_PRIVATE;
        case MacvlanMode::Vepa:
            return MACVLAN_MODE_VEPA;
        case MacvlanMode::Bridge:
            return MACVLAN_MODE_BRIDGE;
        case MacvlanMode::Passthru:
            return MACVLAN_MODE_PASSTHRU;
        case MacvlanMode::Source:
            return MACVLAN_MODE_SOURCE;
    }
    return MACVLAN_MODE_BRIDGE;
}

LinkInfo to_info(rtnl_link* link) {
    LinkInfo info;
    info.index = rtnl_link_get_ifindex(link);
    const char* name = rtnl_link_get_name(link);
    info.name = name != nullptr ? name : "";
    const char* kind = rtnl_link_get_type(link);
    info.kind = kind != nullptr ? kind : "";
    info.mtu = rtnl_link_get_mtu(link);
    info.flags = rtnl_link_get_flags(link);
    info.parent_index = rtnl_link_get_link(link);
    if (nl_addr* addr = rtnl_link_get_addr(link);
        addr != nullptr && nl_addr_get_len(addr) == sizeof(MacAddr)) {
        MacAddr mac{};
        const auto* bytes = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(addr));
        std::copy(bytes, bytes + mac.size(), mac.begin());
        info.mac = to_string(mac);
    }
    // rtnl_link_macvlan_get_mode() asserts (SIGABRT) on any other kind: check first.
    if (rtnl_link_is_macvlan(link) != 0) {
        info.macvlan_mode = mode_from_kernel(rtnl_link_macvlan_get_mode(link));
    }
    return info;
}

std::optional<LinkInfo> get_kernel(Netlink& nl, int index, const char* name,
                                   std::string_view what) {
    nl.clear_errno();
    rtnl_link* raw = nullptr;
    const int rc = rtnl_link_get_kernel(nl.sock(), index, name, &raw);
    LinkPtr link(raw);
    if (nl.is_not_found(rc)) {
        return std::nullopt;  // decided without a throw: a miss is the expected case of a DEL
    }
    nl.check(rc, fmt::format("get link {}", what));
    return to_info(link.get());
}

void change_link(Netlink& nl, int index, rtnl_link* changes, std::string_view operation) {
    auto orig = alloc_link();
    rtnl_link_set_ifindex(orig.get(), index);
    nl.clear_errno();
    nl.check(rtnl_link_change(nl.sock(), orig.get(), changes, 0), operation);
}

}  // namespace

std::string_view to_string(MacvlanMode mode) {
    switch (mode) {
        case MacvlanMode::Private:
            return "private";
        case MacvlanMode::Vepa:
            return "vepa";
        case MacvlanMode::Bridge:
            return "bridge";
        case MacvlanMode::Passthru:
            return "passthru";
        case MacvlanMode::Source:
            return "source";
    }
    return "bridge";
}

std::optional<MacvlanMode> parse_macvlan_mode(std::string_view text) {
    for (auto mode : {MacvlanMode::Private, MacvlanMode::Vepa, MacvlanMode::Bridge,
                      MacvlanMode::Passthru, MacvlanMode::Source}) {
        if (to_string(mode) == text) {
            return mode;
        }
    }
    return std::nullopt;
}

bool LinkInfo::is_up() const {
    return (flags & IFF_UP) != 0;
}

std::optional<LinkInfo> find_link(Netlink& nl, std::string_view name) {
    const std::string n(name);
    return get_kernel(nl, 0, n.c_str(), fmt::format("\"{}\"", n));
}

std::optional<LinkInfo> find_link(Netlink& nl, int index) {
    return get_kernel(nl, index, nullptr, fmt::format("index {}", index));
}

LinkInfo get_link(Netlink& nl, std::string_view name) {
    auto info = find_link(nl, name);
    if (!info) {
        throw KernelError(fmt::format("Link not found: \"{}\"", name));
    }
    return *std::move(info);
}

void create_macvlan(Netlink& nl, const MacvlanSpec& spec, int target_netns_fd) {
    LinkPtr link(rtnl_link_macvlan_alloc());
    if (!link) {
        throw KernelError("rtnl_link_macvlan_alloc failed");
    }
    rtnl_link_set_name(link.get(), spec.name.c_str());
    rtnl_link_set_link(link.get(), spec.master_index);
    rtnl_link_macvlan_set_mode(link.get(), mode_to_kernel(spec.mode));
    if (spec.mtu != 0) {
        rtnl_link_set_mtu(link.get(), spec.mtu);
    }
    if (spec.mac) {
        const auto mac = make_nl_mac(*spec.mac);
        rtnl_link_set_addr(link.get(), mac.get());
    }
    if (target_netns_fd >= 0) {
        rtnl_link_set_ns_fd(link.get(), target_netns_fd);
    }
    nl.clear_errno();
    nl.check(rtnl_link_add(nl.sock(), link.get(), NLM_F_CREATE | NLM_F_EXCL),
             fmt::format("create macvlan \"{}\" (master ifindex {}, mode {}, mtu {}{})", spec.name,
                         spec.master_index, to_string(spec.mode), spec.mtu,
                         spec.mac ? ", mac " + to_string(*spec.mac) : std::string()));
}

bool delete_link(Netlink& nl, std::string_view name) {
    auto link = alloc_link();
    const std::string n(name);
    rtnl_link_set_name(link.get(), n.c_str());
    nl.clear_errno();
    const int rc = rtnl_link_delete(nl.sock(), link.get());
    if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) {
        return false;
    }
    nl.check(rc, fmt::format("delete link \"{}\"", n));
    return true;
}

bool delete_link(Netlink& nl, int index) {
    auto link = alloc_link();
    rtnl_link_set_ifindex(link.get(), index);
    nl.clear_errno();
    const int rc = rtnl_link_delete(nl.sock(), link.get());
    if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) {
        return false;
    }
    nl.check(rc, fmt::format("delete link index {}", index));
    return true;
}

void rename_link(Netlink& nl, int index, std::string_view new_name) {
    auto changes = alloc_link();
    const std::string n(new_name);
    rtnl_link_set_name(changes.get(), n.c_str());
    change_link(nl, index, changes.get(), fmt::format("rename link index {} to \"{}\"", index, n));
}

void set_link_up(Netlink& nl, int index, bool up) {
    auto changes = alloc_link();
    if (up) {
        rtnl_link_set_flags(changes.get(), IFF_UP);
    } else {
        rtnl_link_unset_flags(changes.get(), IFF_UP);
    }
    change_link(nl, index, changes.get(),
                fmt::format("set link index {} {}", index, up ? "up" : "down"));
}

}  // namespace splitnet::net
