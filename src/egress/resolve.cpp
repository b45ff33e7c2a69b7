#include "splitnet/egress/resolve.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::egress {

namespace {

std::string join(const std::vector<net::IpNet>& list) {
    std::string out;
    for (const auto& p : list) {
        out += (out.empty() ? "" : ", ") + net::to_string(p);
    }
    return out;
}

/// Sorted, de-duplicated, and without entries already covered by a broader one.
std::vector<net::IpNet> normalise_keep(std::vector<net::IpNet> list) {
    std::sort(list.begin(), list.end(), [](const net::IpNet& a, const net::IpNet& b) {
        if (a.family() != b.family()) {
            return a.family() < b.family();
        }
        if (a.prefix != b.prefix) {
            return a.prefix < b.prefix;
        }
        return a.addr.bytes < b.addr.bytes;
    });
    std::vector<net::IpNet> out;
    for (const auto& p : list) {
        const bool covered = std::any_of(
            out.begin(), out.end(), [&](const net::IpNet& broader) { return broader.contains(p); });
        if (!covered) {
            out.push_back(p);
        }
    }
    return out;
}

bool is_link_local6(const net::IpAddr& address) {
    static const net::IpNet kLinkLocal = *net::parse_cidr("fe80::/10");
    return kLinkLocal.contains(address);
}

void check_gateway_on_link(const net::IpAddr& gateway, const std::vector<net::IpNet>& addresses,
                           const std::string& ifname) {
    std::vector<net::IpNet> same_family;
    for (const auto& a : addresses) {
        if (a.family() == gateway.family) {
            same_family.push_back(a);
        }
    }
    for (const auto& a : same_family) {
        if (a.contains(gateway)) {
            if (a.addr == gateway) {
                cni::fail_key("egress.gateway", fmt::format("{} is {}'s own address",
                                                            net::to_string(gateway), ifname));
            }
            return;
        }
    }
    if (!gateway.is_v4() && is_link_local6(gateway)) {
        return;
    }
    cni::fail_key(
        "egress.gateway",
        fmt::format("{} is not inside any IPv{} subnet of {} ({}); the VPN gateway must be on "
                    "the macvlan segment",
                    net::to_string(gateway), net::ip_version(gateway.family), ifname,
                    same_family.empty() ? std::string("none") : join(same_family)));
}

std::optional<net::IpAddr> ipam_gateway(const std::vector<cni::IpConfig>& ips, net::Family family) {
    for (const auto& ip : ips) {
        if (ip.gateway.empty()) {
            continue;
        }
        const auto gw = net::parse_ip(ip.gateway);
        if (gw && gw->family == family) {
            return gw;
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<net::IpNet> ResolvedEgress::keep_of(net::Family family) const {
    std::vector<net::IpNet> out;
    for (const auto& p : keep) {
        if (p.family() == family) {
            out.push_back(p);
        }
    }
    return out;
}

std::vector<net::Family> ResolvedEgress::managed_families() const {
    if (ipv6 == Ipv6Policy::Allow) {
        return {net::Family::V4};
    }
    return {net::Family::V4, net::Family::V6};
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
        const auto address = net::parse_cidr(ip.address, kEgressCidrSyntax);
        if (!address) {
            cni::fail_key("ipam", fmt::format("address \"{}\" is not a CIDR", ip.address));
        }
        out.egress_addresses.push_back(*address);
    }
    const bool has_v4 = std::any_of(out.egress_addresses.begin(), out.egress_addresses.end(),
                                    [](const net::IpNet& a) { return a.is_v4(); });
    if (!has_v4) {
        cni::fail_key("egress",
                      fmt::format("{} has no IPv4 address; the egress network needs a static "
                                  "IPv4 address (ipam addresses or the pod's \"ips\")",
                                  egress_ifname));
    }

    const auto gw4 = config.gateway4 ? config.gateway4 : ipam_gateway(egress_ips, net::Family::V4);
    if (!gw4) {
        cni::fail_key("egress.gateway",
                      fmt::format("no IPv4 gateway: set egress.gateway or give {}'s "
                                  "IPv4 address a gateway in ipam",
                                  egress_ifname));
    }
    check_gateway_on_link(*gw4, out.egress_addresses, egress_ifname);
    out.gateway4 = *gw4;

    if (config.ipv6 == Ipv6Policy::Route) {
        const auto gw6 =
            config.gateway6 ? config.gateway6 : ipam_gateway(egress_ips, net::Family::V6);
        if (!gw6) {
            cni::fail_key("egress.ipv6",
                          fmt::format("\"route\" needs an IPv6 gateway: add one to "
                                      "egress.gateway or to {}'s IPv6 address in ipam",
                                      egress_ifname));
        }
        const bool has_v6 = std::any_of(out.egress_addresses.begin(), out.egress_addresses.end(),
                                        [](const net::IpNet& a) { return !a.is_v4(); });
        if (!has_v6) {
            cni::fail_key("egress.ipv6",
                          fmt::format("\"route\" needs an IPv6 address on {}", egress_ifname));
        }
        check_gateway_on_link(*gw6, out.egress_addresses, egress_ifname);
        out.gateway6 = gw6;
    }

    std::vector<net::IpNet> keep;
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
    keep.erase(std::remove_if(keep.begin(), keep.end(),
                              [](const net::IpNet& p) { return p.is_default(); }),
               keep.end());
    out.keep = normalise_keep(std::move(keep));

    // A keep prefix inside net1's own subnet would pull VPN-segment addresses (maybe the
    // gateway itself) onto eth0.
    for (const auto& p : out.keep) {
        for (const auto& a : out.egress_addresses) {
            if (a.network().contains(p)) {
                cni::fail_key(
                    "egress.keep",
                    fmt::format("{} lies inside {}'s subnet {}; keep prefixes must "
                                "not cover the VPN segment",
                                net::to_string(p), egress_ifname, net::to_string(a.network())));
            }
        }
    }
    return out;
}

}  // namespace splitnet::egress
