#include "splitnet/attach/macvlan.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/delegate/invoker.hpp"
#include "splitnet/egress/apply.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"
#include "splitnet/net/sysctl.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/rollback.hpp"
#include "splitnet/util/unique_fd.hpp"

// Pieces shared by the macvlan verbs. Private to attach/.

namespace splitnet::attach::detail {

/// The IPAM plugin's call: same stdin and CNI_* values, the IPAM type as plugin.
delegate::PluginCall ipam_call(const delegate::PluginCall& call, cni::Verb verb,
                               const std::string& type);

/// The name ADD creates the link under before renaming it to `ifname` inside the pod netns:
/// "snt" + 12 hex digits of a hash of (container ID, ifname). Deterministic, so that DEL finds
/// the link of an ADD killed before the rename (Go's random "veth<8 hex>" would leak it).
std::string temp_link_name(std::string_view container_id, std::string_view ifname);

/// True when IPAM is exec'd (neither L2-only nor in-process static).
bool ipam_is_exec(const MacvlanConfig& conf);

/// Resolves and looks up the master in the netns of `nl` (the node's, or the pod's with
/// linkInContainer): configured name, else the default route's interface
/// (`no default route interface found`). A missing master:
/// `failed to lookup master "x": Link not found`.
net::LinkInfo lookup_master(net::Netlink& nl, const std::string& master);

/// Re-throws any exception as code 999 with the same text (Go plugins return plain errors, which
/// the skel reports as 999), keeping cni::Error codes >= 50 (e.g. 50 for STATUS) as they are.
[[noreturn]] void rethrow_as_plugin_error();

/// What ADD and CHECK establish before any side effect: the parsed config (errors as code 999),
/// the pod netns, a netlink socket in each netns, and the master, looked up and MTU-checked.
struct Session {
    explicit Session(const delegate::PluginCall& call);

    MacvlanConfig conf;
    util::UniqueFd pod_fd;
    net::Netlink node;
    net::Netlink pod;
    net::LinkInfo master;
};

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

namespace splitnet::attach {

namespace {

using delegate::PluginCall;
using delegate::PluginInvoker;

struct Addressing {
    std::vector<net::IpNet> addresses;
    std::optional<net::IpAddr> v4_gateway;  // first IPv4 gateway among the IPs
    std::optional<net::IpAddr> v6_gateway;
    bool has_v6 = false;
};

Addressing plan_addresses(const cni::Result& ipam, const std::string& ifname) {
    Addressing out;
    for (const auto& ip : ipam.ips) {
        const auto addr = net::parse_cidr(ip.address);
        if (!addr) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("failed to add IP addr {} to \"{}\": not in CIDR notation",
                                  ip.address, ifname));
        }
        out.addresses.push_back(*addr);
        out.has_v6 = out.has_v6 || !addr->addr.is_v4();
        if (ip.gateway.empty()) {
            continue;
        }
        const auto gw = net::parse_ip(ip.gateway);
        if (!gw) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("invalid gateway {} for {}", ip.gateway, ip.address));
        }
        auto& slot = gw->is_v4() ? out.v4_gateway : out.v6_gateway;
        if (!slot) {
            slot = gw;
        }
    }
    return out;
}

// Kernel settings of the new link, written before it comes up (its sysctl directory follows
// its name, so `name` is the temporary one).
void prepare_sysctls(int pod_fd, const std::string& name, const Addressing& plan) {
    const net::NetnsGuard guard(pod_fd);
    auto best_effort = [](const std::string& key, const char* value) {
        try {
            net::write_sysctl(key, value);
        } catch (const net::KernelError& e) {
            spdlog::debug("{}", e.what());
        }
    };
    // Gratuitous ARP / unsolicited NA when the link comes up (Go sets these too, ignoring errors;
    // with NODAD addresses the kernel sends the NA as soon as the link is up).
    best_effort(fmt::format("net/ipv4/conf/{}/arp_notify", name), "1");
    best_effort(fmt::format("net/ipv6/conf/{}/ndisc_notify", name), "1");
    if (plan.has_v6) {
        // ipam.ConfigureIface: IPv6 must be enabled on lo and the link.
        for (const std::string& iface : {std::string("lo"), name}) {
            const auto key = fmt::format("net/ipv6/conf/{}/disable_ipv6", iface);
            std::string value;
            try {
                value = net::read_sysctl(key);
            } catch (const net::KernelError& e) {
                spdlog::warn("{}", e.what());
                continue;
            }
            if (value != "0") {
                try {
                    net::write_sysctl(key, "0");
                } catch (const net::KernelError& e) {
                    cni::fail(cni::ErrorCode::Other,
                              fmt::format("failed to enable IPv6 for interface \"{}\" ({}={}): {}",
                                          iface, key, value, e.what()));
                }
            }
        }
        // No DAD at all on this link: static addresses are NODAD, and the link-local address
        // must not sit tentative either (the reference waits for it, ~2 s).
        best_effort(fmt::format("net/ipv6/conf/{}/accept_dad", name), "0");
    } else {
        // No IPv6 configured: no SLAAC addresses or RA routes sneak in.
        best_effort(fmt::format("net/ipv6/conf/{}/accept_ra", name), "0");
        best_effort(fmt::format("net/ipv6/conf/{}/autoconf", name), "0");
    }
}

void add_routes(net::Netlink& pod, int ifindex, const std::string& ifname,
                const std::vector<cni::Route>& routes, const Addressing& plan) {
    for (const auto& r : routes) {
        const auto dst = net::parse_cidr(r.dst);
        if (!dst) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("failed to add route '{}': invalid destination", r.dst));
        }
        net::RouteSpec spec;
        spec.dst = *dst;
        spec.ifindex = ifindex;
        if (!r.gw.empty()) {
            spec.gw = net::parse_ip(r.gw);
            if (!spec.gw) {
                cni::fail(cni::ErrorCode::Other,
                          fmt::format("failed to add route '{}': invalid gateway {}", r.dst, r.gw));
            }
        } else {
            // ipam.ConfigureIface: the first gateway of the route's family, else on-link.
            spec.gw = dst->addr.is_v4() ? plan.v4_gateway : plan.v6_gateway;
        }
        if (r.table) {
            spec.table = static_cast<std::uint32_t>(*r.table);
        }
        if (r.priority) {
            spec.priority = static_cast<std::uint32_t>(*r.priority);
        }
        spec.scope = r.scope;
        try {
            net::add_route(pod, spec);
        } catch (const net::NetlinkError& e) {
            cni::fail(
                cni::ErrorCode::Other,
                fmt::format("failed to add route '{} via {} dev {}': {}", net::to_string(*dst),
                            spec.gw ? net::to_string(*spec.gw) : "<nil>", ifname, e.reason()));
        }
    }
}

// With DAD off, the kernel still clears IFA_F_TENTATIVE from a workqueue right after link-up
// (addrconf_dad_begin): wait for that, bounded, so that ADD returns with usable addresses. This
// takes microseconds, not the ~2 s of a DAD round (which the reference waits for).
void settle_ipv6(net::Netlink& pod, int ifindex) {
    constexpr auto kBound = std::chrono::seconds(2);
    const auto deadline = std::chrono::steady_clock::now() + kBound;
    for (;;) {
        const auto addrs = net::list_addresses(pod, ifindex, net::Family::V6);
        const bool tentative =
            std::any_of(addrs.begin(), addrs.end(), [](const auto& a) { return a.tentative(); });
        if (!tentative) {
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            spdlog::warn("IPv6 addresses of ifindex {} still tentative after {} s", ifindex,
                         kBound.count());
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

cni::Result run_ipam_add(const PluginCall& call, const MacvlanConfig& conf, PluginInvoker& ipam) {
    const auto out = ipam.invoke(detail::ipam_call(call, cni::Verb::Add, conf.ipam_type));
    std::string problem;
    const auto doc =
        util::try_parse_json_bounded(out, {util::kMaxResultBytes, util::kMaxJsonDepth}, &problem);
    if (!doc) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("failed to decode the result of IPAM plugin \"{}\": {}",
                              conf.ipam_type, problem));
    }
    return cni::parse_result(*doc, conf.cni_version);
}

// The second step of an ADD the meta plugin split (EgressStep::PolicyOnly): net1 is in place
// with what prevResult says (the first step's result), and the primary's routes, which the
// policy keeps, are in the pod now. Answers with prevResult as it came.
std::string add_egress_policy(const PluginCall& call) {
    const auto conf =
        util::parse_json_bounded(call.config, "failed to load netconf",
                                 {util::kMaxConfigBytes, util::kMaxComposedJsonDepth});
    const auto prev = conf.find("prevResult");
    const auto version = conf.find("cniVersion");
    if (prev == conf.end() || !prev->is_object() || version == conf.end() ||
        !version->is_string()) {
        cni::fail(cni::ErrorCode::Other,
                  "the egress policy step needs the link's result as prevResult");
    }
    const auto link = cni::parse_result(*prev, version->get<std::string>());
    const auto pod_fd = net::open_netns(call.netns);
    egress::egress_after_routes(call.config, {pod_fd.get(), call.ifname, link.ips});
    util::kill_point("native-egress");
    return util::dump_json(*prev);
}

}  // namespace

std::string macvlan_add(const PluginCall& call, PluginInvoker& ipam) {
    const auto step = egress::egress_step(call.config);
    if (step == egress::EgressStep::PolicyOnly) {
        return add_egress_policy(call);
    }
    // Everything that can be checked is checked before the first side effect.
    detail::Session session(call);
    const auto& conf = session.conf;
    const auto& pod_fd = session.pod_fd;
    net::Netlink& node = session.node;
    net::Netlink& pod = session.pod;
    const auto& master = session.master;

    std::optional<cni::Result> ipam_result;
    if (conf.ipam_type == "static") {
        try {
            ipam_result = static_ipam_add(call.config, call.cni_args);
        } catch (...) {
            detail::rethrow_as_plugin_error();
        }
        if (ipam_result->ips.empty()) {
            cni::fail(cni::ErrorCode::Other, "IPAM plugin returned missing IP config");
        }
    }

    // 1. Create under a temporary name, directly inside the pod netns.
    net::MacvlanSpec spec;
    spec.name = detail::temp_link_name(call.container_id, call.ifname);
    spec.master_index = master.index;
    spec.mode = conf.mode;
    spec.mtu = static_cast<unsigned>(conf.mtu);
    spec.mac = conf.mac;
    try {
        if (conf.link_in_container) {
            net::create_macvlan(pod, spec);
        } else {
            net::create_macvlan(node, spec, pod_fd.get());
        }
    } catch (const net::NetlinkError& e) {
        cni::fail(cni::ErrorCode::Other, fmt::format("failed to create macvlan: {}", e.reason()));
    }
    const int ifindex = net::get_link(pod, spec.name).index;
    util::Rollback undo_link([&] { net::delete_link(pod, ifindex); });
    util::kill_point("native-link-created");

    std::optional<util::Rollback> undo_ipam;
    if (detail::ipam_is_exec(conf)) {
        ipam_result = run_ipam_add(call, conf, ipam);
        undo_ipam.emplace(
            [&] { ipam.invoke(detail::ipam_call(call, cni::Verb::Del, conf.ipam_type)); });
        if (ipam_result->ips.empty()) {
            cni::fail(cni::ErrorCode::Other, "IPAM plugin returned missing IP config");
        }
    }

    cni::Result result;
    result.cni_version = conf.cni_version;
    Addressing plan;
    if (ipam_result) {
        result.ips = ipam_result->ips;
        result.routes = ipam_result->routes;
        for (auto& ip : result.ips) {
            ip.interface = 0;  // every address belongs to the macvlan
        }
        plan = plan_addresses(result, call.ifname);
        // 2. Sysctls before the link comes up.
        prepare_sysctls(pod_fd.get(), spec.name, plan);
    }

    // 3. Final name; an existing link of that name stays untouched.
    try {
        net::rename_link(pod, ifindex, call.ifname);
    } catch (const net::NetlinkError& e) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("failed to rename macvlan to \"{}\": {}", call.ifname, e.reason()));
    }
    util::kill_point("native-renamed");

    // VPN egress: hygiene sysctls and the ARP conflict probe, before any address is taken.
    egress::egress_before_addresses(call.config, {pod_fd.get(), call.ifname, result.ips});

    // 4. Addresses (IPv6 without DAD).
    for (const auto& addr : plan.addresses) {
        try {
            net::add_address(pod, ifindex, addr);
        } catch (const net::NetlinkError& e) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("failed to add IP addr {} to \"{}\": {}", net::to_string(addr),
                                  call.ifname, e.reason()));
        }
    }
    util::kill_point("native-addresses");

    // 5. Up: with arp_notify/ndisc_notify the kernel announces the addresses now.
    try {
        net::set_link_up(pod, ifindex);
    } catch (const net::NetlinkError& e) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("failed to set \"{}\" UP: {}", call.ifname, e.reason()));
    }
    util::kill_point("native-up");

    // 6. Routes.
    add_routes(pod, ifindex, call.ifname, result.routes, plan);
    if (plan.has_v6) {
        settle_ipv6(pod, ifindex);
    }
    util::kill_point("native-routes");
    if (step == egress::EgressStep::Whole) {
        // VPN egress: gateway probe, then keep/default/kill-switch routes (no-op without
        // "egress"). Split off (BeforePolicy), it comes with the policy step.
        egress::egress_after_routes(call.config, {pod_fd.get(), call.ifname, result.ips});
        util::kill_point("native-egress");
    }

    const auto link = net::find_link(pod, ifindex);
    if (!link) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("failed to refetch macvlan \"{}\": Link not found", call.ifname));
    }
    cni::Interface iface;
    iface.name = call.ifname;
    iface.mac = link->mac;
    iface.sandbox = call.netns;
    result.interfaces.push_back(std::move(iface));
    // Go's macvlan: result.DNS = the top-level dns, whatever IPAM returned.
    result.dns = conf.dns;

    auto out = util::dump_json(cni::result_to_json(result, conf.cni_version));
    if (undo_ipam) {
        undo_ipam->dismiss();
    }
    undo_link.dismiss();
    return out;
}

namespace {

void check_interface(net::Netlink& pod, const cni::Interface& want, const MacvlanConfig& conf) {
    if (want.name.empty()) {
        cni::fail(cni::ErrorCode::Other, "container interface name missing in prevResult: ");
    }
    const auto link = net::find_link(pod, want.name);
    if (!link) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("container Interface name in prevResult: {} not found", want.name));
    }
    if (want.sandbox.empty()) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("error: Container interface {} should not be in host namespace",
                              link->name));
    }
    if (!link->macvlan_mode) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("error: Container interface {} not of type macvlan", link->name));
    }
    if (*link->macvlan_mode != conf.mode) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("container macvlan mode {} does not match expected value: {}",
                              net::to_string(*link->macvlan_mode), net::to_string(conf.mode)));
    }
    if (!want.mac.empty() && want.mac != link->mac) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("interface {} Mac {} doesn't match container Mac: {}", want.name,
                              want.mac, link->mac));
    }
}

bool same_prefix(const net::IpNet& a, const net::IpNet& b) {
    return a.prefix == b.prefix && a.network() == b.network();
}

// ip.ValidateExpectedInterfaceIPs: each address is on the link and its prefix is routed.
void check_addresses(net::Netlink& pod, int ifindex, const std::string& ifname,
                     const std::vector<cni::IpConfig>& ips) {
    const auto have = net::list_addresses(pod, ifindex, std::nullopt);
    for (const auto& ip : ips) {
        const auto want = net::parse_cidr(ip.address);
        if (!want) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to match addr {} on interface {}", ip.address, ifname));
        }
        const bool present =
            std::any_of(have.begin(), have.end(), [&](const auto& a) { return a.local == *want; });
        if (!present) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to match addr {} on interface {}", ip.address, ifname));
        }
        const auto routes = net::list_routes(pod, want->addr.family, net::kMainTable);
        const bool routed = std::any_of(routes.begin(), routes.end(),
                                        [&](const auto& r) { return same_prefix(r.dst, *want); });
        if (!routed) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Failed to find Gateway {} for interface {}",
                                  net::to_string(want->network()), ifname));
        }
    }
}

// ip.ValidateExpectedRoute, but in the table the route was installed in (not only main), and a
// gateway-less route matches on its destination alone (the v1.1.1 bug is not copied).
void check_routes(net::Netlink& pod, const std::vector<cni::Route>& routes) {
    for (const auto& r : routes) {
        const auto dst = net::parse_cidr(r.dst);
        if (!dst) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Expected Route {} not found in routing table", r.dst));
        }
        std::optional<net::IpAddr> gw;
        if (!r.gw.empty()) {
            gw = net::parse_ip(r.gw);
        }
        const auto table = r.table ? static_cast<std::uint32_t>(*r.table) : net::kMainTable;
        const auto installed = net::list_routes(pod, dst->addr.family, table);
        const bool found = std::any_of(installed.begin(), installed.end(), [&](const auto& have) {
            if (!same_prefix(have.dst, *dst)) {
                return false;
            }
            return !gw || std::any_of(have.nexthops.begin(), have.nexthops.end(),
                                      [&](const auto& hop) { return hop.gw == gw; });
        });
        if (!found) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("Expected Route {{Dst:{} GW:{}}} not found in routing table {}",
                                  r.dst, r.gw.empty() ? "<nil>" : r.gw, table));
        }
    }
}

}  // namespace

void macvlan_check(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    detail::Session session(call);
    const auto& conf = session.conf;
    const auto& pod_fd = session.pod_fd;
    net::Netlink& pod = session.pod;

    if (conf.ipam_type == "static") {
        try {
            static_ipam_check(call.config, call.cni_args, call.ifname);
        } catch (...) {
            detail::rethrow_as_plugin_error();
        }
    } else if (detail::ipam_is_exec(conf)) {
        ipam.invoke(detail::ipam_call(call, cni::Verb::Check, conf.ipam_type));
    }

    if (!conf.prev_result) {
        cni::fail(cni::ErrorCode::Other, "required prevResult missing");
    }
    const auto prev = cni::parse_result(*conf.prev_result, conf.cni_version);
    cni::Interface mine;
    for (const auto& iface : prev.interfaces) {
        if (iface.name == call.ifname && iface.sandbox == call.netns) {
            mine = iface;
        }
    }
    if (mine.sandbox != call.netns) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("sandbox in prevResult {} doesn't match configured netns: {}",
                              mine.sandbox, call.netns));
    }
    check_interface(pod, mine, conf);
    const auto link = net::get_link(pod, call.ifname);
    check_addresses(pod, link.index, call.ifname, prev.ips);
    check_routes(pod, prev.routes);
    egress::egress_check(call.config, {pod_fd.get(), call.ifname, prev.ips});
}

void macvlan_del(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    // Go cmdDel (v1.4.0+): no master lookup, nothing that depends on node state.
    const auto conf = parse_macvlan_config_for_del(call.config);
    if (detail::ipam_is_exec(conf)) {
        // An IPAM DEL error fails the DEL, as in the reference (the address stays reserved).
        ipam.invoke(detail::ipam_call(call, cni::Verb::Del, conf.ipam_type));
    }
    if (call.netns.empty()) {
        return;
    }
    const auto pod_fd = net::open_netns_if_exists(call.netns);
    if (!pod_fd) {
        return;  // the netns is gone, and the link with it
    }
    egress::egress_del(call.config, pod_fd->get());  // never throws; no-op without "egress"
    net::Netlink pod(pod_fd->get());
    net::delete_link(pod, call.ifname);  // false when already gone: fine
    // An ADD killed before its rename left the link under its temporary name. Only a macvlan of
    // that exact name is ours: nothing else in the pod is touched.
    const auto temp = detail::temp_link_name(call.container_id, call.ifname);
    if (const auto link = net::find_link(pod, temp); link && link->kind == "macvlan") {
        net::delete_link(pod, link->index);
    }
}

void macvlan_status(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    const auto conf = parse_macvlan_config_for_del(call.config);
    if (detail::ipam_is_exec(conf)) {
        ipam.invoke(detail::ipam_call(call, cni::Verb::Status, conf.ipam_type));
    }
    MacvlanConfig full;
    try {
        full = parse_macvlan_config(call.config, "");
    } catch (...) {
        detail::rethrow_as_plugin_error();
    }
    if (full.link_in_container) {
        return;  // the master lives in a pod netns that STATUS does not know
    }
    // Not ready to create attachments on this node (the reference leaves this as a TODO).
    const auto not_available = [](const std::string& msg) {
        return cni::Error(cni::ErrorCode::NotAvailable, msg,
                          "the macvlan master interface is missing on this node");
    };
    net::Netlink node;
    try {
        detail::lookup_master(node, full.master);
    } catch (const cni::Error& e) {
        throw not_available(e.msg());
    } catch (const net::KernelError& e) {
        throw not_available(e.what());
    }
}

}  // namespace splitnet::attach
