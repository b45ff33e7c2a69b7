#include "splitnet/agent/node_attachments.hpp"

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::agent {
namespace {

using nlohmann::json;

// The plugin object that creates the interface: the conf itself, or a conflist's first plugin.
json interface_plugin_of(const json& config) {
    if (util::network_config_shape(config) == util::NetworkConfigShape::ConfList) {
        const auto& plugins = *util::find_key_go(config, "plugins");
        if (!plugins.empty() && plugins.front().is_object()) {
            return plugins.front();
        }
        return json::object();
    }
    return config;
}

std::string type_of(const json& plugin) {
    const auto it = plugin.find("type");
    return it != plugin.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The address of `family` on net1 and the gateway to probe (the block's, else IPAM's).
struct Addressing {
    std::optional<net::IpAddr> source;
    std::optional<net::IpAddr> gateway;
};

Addressing addressing_of(const cni::Result& result, net::Family family,
                         const std::optional<net::IpAddr>& configured_gateway) {
    Addressing out;
    out.gateway = configured_gateway;
    for (const auto& ip : result.ips) {
        const auto net = net::parse_cidr(ip.address);
        if (!net || net->addr.family != family) {
            continue;
        }
        if (!out.source) {
            out.source = net->addr;
        }
        if (!out.gateway && !ip.gateway.empty()) {
            out.gateway = net::parse_ip(ip.gateway);
        }
    }
    if (out.gateway && out.gateway->family != family) {
        out.gateway.reset();
    }
    return out;
}

std::vector<EgressTarget> egress_targets_of(const store::State& state,
                                            const store::AttachmentState& entry,
                                            const json& plugin) {
    std::optional<egress::EgressConfig> egress;
    try {
        egress = egress::parse_egress_config(plugin);
    } catch (const cni::Error&) {
        return {};  // the ADD refused it; nothing to watch
    }
    if (!egress || entry.result.is_null()) {
        return {};
    }
    cni::Result result;
    try {
        result = cni::parse_result(entry.result, state.cni_version);
    } catch (const cni::Error&) {
        return {};
    }
    std::vector<EgressTarget> out;
    const auto add = [&](const Addressing& addressing, bool with_probe_target) {
        if (!addressing.source || !addressing.gateway) {
            return;
        }
        EgressTarget target;
        target.key = state.key();
        target.pod = plan::pod_ref_from_args(entry.attachment.cni_args);
        target.netns = state.netns;
        target.network = entry.attachment.network;
        target.ifname = entry.attachment.ifname;
        target.source = *addressing.source;
        target.gateway = *addressing.gateway;
        if (with_probe_target) {
            target.probe_target = egress->probe_target;
        }
        out.push_back(std::move(target));
    };
    add(addressing_of(result, net::Family::V4, egress->gateway4), true);
    // An IPv6 gateway carries traffic only under "ipv6": "route".
    if (egress->ipv6 == egress::Ipv6Policy::Route) {
        add(addressing_of(result, net::Family::V6, egress->gateway6), false);
    }
    return out;
}

std::optional<DnsTarget> dns_target_of(const store::State& state,
                                       const store::AttachmentState& entry, const json& plugin) {
    std::optional<egress::EgressConfig> egress;
    try {
        egress = egress::parse_egress_config(plugin);
    } catch (const cni::Error&) {
        return std::nullopt;
    }
    if (!egress || !egress->dns) {
        return std::nullopt;
    }
    DnsTarget target;
    target.key = state.key();
    target.netns = state.netns;
    target.network = entry.attachment.network;
    target.ifname = entry.attachment.ifname;
    target.cluster_domain = egress->dns->cluster_domain;
    target.servers = egress->dns->servers;
    return target;
}

}  // namespace

NodeAttachments summarize_state(const store::State& state) {
    NodeAttachments out;
    if (state.phase != store::Phase::Added) {
        return out;
    }
    for (const auto& entry : state.attachments) {
        // The config is what ADD ran (trusted from the node or untrusted from a NAD, checked
        // by that ADD); parsed again within the same bounds.
        const auto config = util::try_parse_json_bounded(
            entry.attachment.config, {util::kMaxConfigBytes, util::kMaxJsonDepth});
        const json plugin =
            config && config->is_object() ? interface_plugin_of(*config) : json::object();
        const bool native = attach::is_native_type(type_of(plugin));
        out.attachments.push_back({entry.attachment.network, native ? "native" : "delegated"});
        if (native && !entry.attachment.is_primary) {
            for (auto& target : egress_targets_of(state, entry, plugin)) {
                out.egress.push_back(std::move(target));
            }
            if (auto dns = dns_target_of(state, entry, plugin)) {
                out.dns.push_back(std::move(*dns));
            }
        }
    }
    return out;
}

}  // namespace splitnet::agent
