#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "macvlan_common.hpp"
#include "splitnet/attach/egress_apply.hpp"
#include "splitnet/attach/macvlan.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/route.hpp"
#include "splitnet/net/sysctl.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/rollback.hpp"

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
    egress_after_routes(call.config, {pod_fd.get(), call.ifname, link.ips});
    util::kill_point("native-egress");
    return util::dump_json(*prev);
}

}  // namespace

std::string macvlan_add(const PluginCall& call, PluginInvoker& ipam) {
    const auto step = egress_step(call.config);
    if (step == EgressStep::PolicyOnly) {
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
    egress_before_addresses(call.config, {pod_fd.get(), call.ifname, result.ips});

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
    if (step == EgressStep::Whole) {
        // VPN egress: gateway probe, then keep/default/kill-switch routes (no-op without
        // "egress"). Split off (BeforePolicy), it comes with the policy step.
        egress_after_routes(call.config, {pod_fd.get(), call.ifname, result.ips});
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

}  // namespace splitnet::attach
