#include "splitnet/verbs/merge.hpp"

#include <algorithm>

#include "splitnet/net/ip.hpp"

namespace splitnet::verbs {
namespace {

void append_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
    for (const auto& item : from) {
        if (std::find(into.begin(), into.end(), item) == into.end()) {
            into.push_back(item);
        }
    }
}

// The sandbox interface an attachment created, or -1.
int find_sandbox_interface(const std::vector<cni::Interface>& interfaces,
                           const std::string& ifname) {
    for (std::size_t i = 0; i < interfaces.size(); ++i) {
        if (interfaces[i].name == ifname && !interfaces[i].sandbox.empty()) {
            return static_cast<int>(i);
        }
    }
    for (std::size_t i = 0; i < interfaces.size(); ++i) {
        if (interfaces[i].name == ifname) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

}  // namespace

cni::Result merge_results(const std::vector<AttachmentResult>& attachments,
                          const std::string& netns, const std::string& version) {
    cni::Result merged;
    merged.cni_version = version;
    for (const auto& attachment : attachments) {
        auto result = cni::parse_result(attachment.result, version);
        const int offset = static_cast<int>(merged.interfaces.size());
        int own = find_sandbox_interface(result.interfaces, attachment.ifname);
        if (own < 0 && !result.ips.empty()) {
            // An IPAM-shaped result: name the interface so its IPs have somewhere to point.
            result.interfaces.push_back(cni::Interface{attachment.ifname, "", {}, netns, "", ""});
            own = static_cast<int>(result.interfaces.size()) - 1;
        }
        for (auto& iface : result.interfaces) {
            merged.interfaces.push_back(std::move(iface));
        }
        for (auto& ip : result.ips) {
            const bool valid_index = ip.interface && *ip.interface >= 0 &&
                                     *ip.interface < static_cast<int>(result.interfaces.size());
            ip.interface = offset + (valid_index ? *ip.interface : own);
            merged.ips.push_back(std::move(ip));
        }
        for (auto& route : result.routes) {
            merged.routes.push_back(std::move(route));
        }
        append_unique(merged.dns.nameservers, result.dns.nameservers);
        append_unique(merged.dns.search, result.dns.search);
        append_unique(merged.dns.options, result.dns.options);
        if (merged.dns.domain.empty()) {
            merged.dns.domain = result.dns.domain;
        }
    }
    return merged;
}

std::vector<cni::Result> split_result(const cni::Result& merged,
                                      const std::vector<std::string>& ifnames) {
    std::vector<cni::Result> parts(ifnames.size());
    std::vector<int> owner(merged.interfaces.size(), -1);
    std::vector<int> local_index(merged.interfaces.size(), -1);
    std::size_t next = 0;
    for (std::size_t k = 0; k < ifnames.size(); ++k) {
        parts[k].cni_version = merged.cni_version;
        // Host-side interfaces come before the attachment's sandbox interface (ptp, bridge).
        while (next < merged.interfaces.size()) {
            const auto& iface = merged.interfaces[next];
            owner[next] = static_cast<int>(k);
            local_index[next] = static_cast<int>(parts[k].interfaces.size());
            parts[k].interfaces.push_back(iface);
            ++next;
            if (iface.name == ifnames[k] && !iface.sandbox.empty()) {
                break;
            }
        }
    }
    std::vector<std::vector<net::IpNet>> subnets(ifnames.size());
    for (const auto& ip : merged.ips) {
        const bool indexed = ip.interface && *ip.interface >= 0 &&
                             *ip.interface < static_cast<int>(owner.size()) &&
                             owner[static_cast<std::size_t>(*ip.interface)] >= 0;
        const auto k =
            indexed ? static_cast<std::size_t>(owner[static_cast<std::size_t>(*ip.interface)]) : 0;
        auto copy = ip;
        if (indexed) {
            copy.interface = local_index[static_cast<std::size_t>(*ip.interface)];
        }
        parts[k].ips.push_back(copy);
        if (auto cidr = net::parse_cidr(ip.address)) {
            subnets[k].push_back(*cidr);
        }
    }
    for (const auto& route : merged.routes) {
        std::size_t k = 0;
        if (const auto gw = net::parse_ip(route.gw)) {
            for (std::size_t j = 0; j < subnets.size(); ++j) {
                if (std::any_of(subnets[j].begin(), subnets[j].end(),
                                [&](const net::IpNet& subnet) { return subnet.contains(*gw); })) {
                    k = j;
                    break;
                }
            }
        }
        parts[k].routes.push_back(route);
    }
    if (!parts.empty()) {
        parts[0].dns = merged.dns;
    }
    return parts;
}

}  // namespace splitnet::verbs
