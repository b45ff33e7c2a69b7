#include "macvlan_common.hpp"

#include <cstdint>
#include <exception>
#include <string_view>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::attach::detail {

delegate::PluginCall ipam_call(const delegate::PluginCall& call, cni::Verb verb,
                               const std::string& type) {
    delegate::PluginCall out = call;
    out.verb = verb;
    out.type = type;
    return out;
}

std::string temp_link_name(std::string_view container_id, std::string_view ifname) {
    // FNV-1a, 64 bit: stable across releases and machines (std::hash is neither).
    constexpr std::uint64_t kOffset = 14695981039346656037ULL;
    constexpr std::uint64_t kPrime = 1099511628211ULL;
    std::uint64_t hash = kOffset;
    const auto mix = [&hash](std::string_view text) {
        for (const char c : text) {
            hash = (hash ^ static_cast<unsigned char>(c)) * kPrime;
        }
    };
    mix(container_id);
    mix(std::string_view("\0", 1));  // ("ab", "c") and ("a", "bc") differ
    mix(ifname);
    constexpr unsigned kKeptBits = 48;  // "snt" + 12 hex digits = 15 bytes, IFNAMSIZ - 1
    return fmt::format("snt{:012x}", hash >> (64U - kKeptBits));
}

bool ipam_is_exec(const MacvlanConfig& conf) {
    return conf.is_layer3() && conf.ipam_type != "static";
}

net::LinkInfo lookup_master(net::Netlink& nl, const std::string& master) {
    std::string name = master;
    if (name.empty()) {
        const auto index = net::default_route_ifindex(nl);
        std::optional<net::LinkInfo> link;
        if (index) {
            link = net::find_link(nl, *index);
        }
        if (!link) {
            throw cni::Error(cni::ErrorCode::Other, "no default route interface found");
        }
        return *link;
    }
    auto link = net::find_link(nl, name);
    if (!link) {
        throw cni::Error(cni::ErrorCode::Other,
                         fmt::format("failed to lookup master \"{}\": Link not found", name));
    }
    return *link;
}

namespace {

[[noreturn]] void throw_as_plugin_error(const cni::Error& e) {
    if (e.code() >= static_cast<unsigned>(cni::ErrorCode::NotAvailable)) {
        throw e;
    }
    throw cni::Error(cni::ErrorCode::Other, e.msg(), e.details(), e.sys_errno());
}

}  // namespace

void rethrow_as_plugin_error() {
    try {
        throw;
    } catch (const cni::Error& e) {
        throw_as_plugin_error(e);
    } catch (const net::KernelError& e) {
        throw_as_plugin_error(cni::from_kernel(e));
    } catch (const std::exception& e) {
        throw cni::Error(cni::ErrorCode::Other, e.what());
    }
}

namespace {

MacvlanConfig parse_or_rethrow(const delegate::PluginCall& call) {
    try {
        return parse_macvlan_config(call.config, call.cni_args);
    } catch (...) {
        rethrow_as_plugin_error();
    }
}

}  // namespace

Session::Session(const delegate::PluginCall& call)
    : conf(parse_or_rethrow(call)),
      pod_fd(net::open_netns(call.netns)),
      pod(pod_fd.get()),
      master(lookup_master(conf.link_in_container ? pod : node, conf.master)) {
    check_mtu(conf.mtu, master.mtu);
}

}  // namespace splitnet::attach::detail
