#include "splitnet/attach/egress_resolve.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::attach {

namespace {

std::string join(const std::vector<IpPrefix>& list) {
    std::string out;
    for (const auto& p : list) {
        out += (out.empty() ? "" : ", ") + p.to_string();
    }
    return out;
}

/// Sorted, de-duplicated, and without entries already covered by a broader one.
std::vector<IpPrefix> normalise_keep(std::vector<IpPrefix> list) {
    std::sort(list.begin(), list.end(), [](const IpPrefix& a, const IpPrefix& b) {
        if (a.family != b.family) {
            return a.family < b.family;
        }
        if (a.length != b.length) {
            return a.length < b.length;
        }
        return a.bytes < b.bytes;
    });
    std::vector<IpPrefix> out;
    for (const auto& p : list) {
        const bool covered = std::any_of(
            out.begin(), out.end(), [&](const IpPrefix& broader) { return broader.contains(p); });
        if (!covered) {
            out.push_back(p);
        }
    }
    return out;
}

bool is_link_local6(const IpPrefix& address) {
    static const IpPrefix kLinkLocal = *parse_prefix("fe80::/10");
    return kLinkLocal.contains(address);
}

void check_gateway_on_link(const IpPrefix& gateway, const std::vector<IpPrefix>& addresses,
                           const std::string& ifname) {
    std::vector<IpPrefix> same_family;
    for (const auto& a : addresses) {
        if (a.family == gateway.family) {
            same_family.push_back(a);
        }
    }
    for (const auto& a : same_family) {
        if (a.network().contains(gateway)) {
            if (a.bytes == gateway.bytes) {
                cni::fail_key("egress.gateway", fmt::format("{} is {}'s own address",
                                                            gateway.address_text(), ifname));
            }
            return;
        }
    }
    if (gateway.family == 6 && is_link_local6(gateway)) {
        return;
    }
    cni::fail_key(
        "egress.gateway",
        fmt::format("{} is not inside any IPv{} subnet of {} ({}); the VPN gateway must be on "
                    "the macvlan segment",
                    gateway.address_text(), gateway.family, ifname,
                    same_family.empty() ? std::string("none") : join(same_family)));
}

std::optional<IpPrefix> ipam_gateway(const std::vector<cni::IpConfig>& ips, int family) {
    for (const auto& ip : ips) {
        if (ip.gateway.empty()) {
            continue;
        }
        const auto gw = parse_address(ip.gateway);
        if (gw && gw->family == family) {
            return gw;
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<IpPrefix> ResolvedEgress::keep_of(int family) const {
    std::vector<IpPrefix> out;
    for (const auto& p : keep) {
        if (p.family == family) {
            out.push_back(p);
        }
    }
    return out;
}

std::vector<int> ResolvedEgress::managed_families() const {
    if (ipv6 == Ipv6Policy::Allow) {
        return {4};
    }
    return {4, 6};
}

ResolvedEgress resolve_egress(const EgressConfig& config, const SplitnetContext& context,
                              const std::string& egress_ifname,
                              const std::vector<cni::IpConfig>& egress_ips) {
    ResolvedEgress out;
    out.egress_ifname = egress_ifname;
    out.primary_ifname = context.primary_ifname;
    out.ipv6 = config.ipv6;
    out.probe_gateway = config.probe_gateway;
    out.probe_conflict = config.probe_conflict;

    for (const auto& ip : egress_ips) {
        const auto address = parse_prefix(ip.address);
        if (!address) {
            cni::fail_key("ipam", fmt::format("address \"{}\" is not a CIDR", ip.address));
        }
        out.egress_addresses.push_back(*address);
    }
    const bool has_v4 = std::any_of(out.egress_addresses.begin(), out.egress_addresses.end(),
                                    [](const IpPrefix& a) { return a.family == 4; });
    if (!has_v4) {
        cni::fail_key("egress",
                      fmt::format("{} has no IPv4 address; the egress network needs a static "
                                  "IPv4 address (ipam addresses or the pod's \"ips\")",
                                  egress_ifname));
    }

    const auto gw4 = config.gateway4 ? config.gateway4 : ipam_gateway(egress_ips, 4);
    if (!gw4) {
        cni::fail_key("egress.gateway",
                      fmt::format("no IPv4 gateway: set egress.gateway or give {}'s "
                                  "IPv4 address a gateway in ipam",
                                  egress_ifname));
    }
    check_gateway_on_link(*gw4, out.egress_addresses, egress_ifname);
    out.gateway4 = *gw4;

    if (config.ipv6 == Ipv6Policy::Route) {
        const auto gw6 = config.gateway6 ? config.gateway6 : ipam_gateway(egress_ips, 6);
        if (!gw6) {
            cni::fail_key("egress.ipv6",
                          fmt::format("\"route\" needs an IPv6 gateway: add one to "
                                      "egress.gateway or to {}'s IPv6 address in ipam",
                                      egress_ifname));
        }
        const bool has_v6 = std::any_of(out.egress_addresses.begin(), out.egress_addresses.end(),
                                        [](const IpPrefix& a) { return a.family == 6; });
        if (!has_v6) {
            cni::fail_key("egress.ipv6",
                          fmt::format("\"route\" needs an IPv6 address on {}", egress_ifname));
        }
        check_gateway_on_link(*gw6, out.egress_addresses, egress_ifname);
        out.gateway6 = gw6;
    }

    std::vector<IpPrefix> keep;
    for (const auto& entry : config.keep) {
        switch (entry.kind) {
            case KeepEntry::Kind::Cluster:
                keep.insert(keep.end(), context.cluster_cidrs.begin(), context.cluster_cidrs.end());
                break;
            case KeepEntry::Kind::Private: {
                const auto priv = private_prefixes();
                keep.insert(keep.end(), priv.begin(), priv.end());
                break;
            }
            case KeepEntry::Kind::Cidr:
                keep.push_back(entry.cidr);
                break;
        }
    }
    for (auto& p : keep) {
        p = p.network();
    }
    keep.erase(
        std::remove_if(keep.begin(), keep.end(), [](const IpPrefix& p) { return p.is_default(); }),
        keep.end());
    out.keep = normalise_keep(std::move(keep));

    // A keep prefix inside net1's own subnet would pull VPN-segment addresses (maybe the
    // gateway itself) onto eth0.
    for (const auto& p : out.keep) {
        for (const auto& a : out.egress_addresses) {
            if (a.network().contains(p)) {
                cni::fail_key("egress.keep",
                              fmt::format("{} lies inside {}'s subnet {}; keep prefixes must "
                                          "not cover the VPN segment",
                                          p.to_string(), egress_ifname, a.network().to_string()));
            }
        }
    }
    return out;
}

}  // namespace splitnet::attach
