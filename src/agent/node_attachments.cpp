#include "splitnet/agent/node_attachments.hpp"

#include "splitnet/attach/egress_config.hpp"
#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::agent {
namespace {

using nlohmann::json;

// The plugin object that creates the interface: the conf itself, or a conflist's first plugin.
json interface_plugin_of(const json& config) {
    if (const auto it = config.find("plugins"); it != config.end()) {
        if (it->is_array() && !it->empty() && it->front().is_object()) {
            return it->front();
        }
        return json::object();
    }
    return config;
}

std::string type_of(const json& plugin) {
    const auto it = plugin.find("type");
    return it != plugin.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<net::IpAddr> v4_address_of(std::string_view cidr) {
    const auto net = net::parse_cidr(cidr);
    if (!net || !net->addr.is_v4()) {
        return std::nullopt;
    }
    return net->addr;
}

std::optional<net::IpAddr> to_ip(const attach::IpPrefix& prefix) {
    return net::parse_ip(prefix.address_text());
}

std::optional<EgressTarget> egress_target_of(const store::State& state,
                                             const store::AttachmentState& entry,
                                             const json& plugin) {
    std::optional<attach::EgressConfig> egress;
    try {
        egress = attach::parse_egress_config(plugin);
    } catch (const cni::Error&) {
        return std::nullopt;  // the ADD refused it; nothing to watch
    }
    if (!egress || entry.result.is_null()) {
        return std::nullopt;
    }
    cni::Result result;
    try {
        result = cni::parse_result(entry.result, state.cni_version);
    } catch (const cni::Error&) {
        return std::nullopt;
    }
    std::optional<net::IpAddr> source;
    std::optional<net::IpAddr> gateway;
    if (egress->gateway4) {
        gateway = to_ip(*egress->gateway4);
    }
    for (const auto& ip : result.ips) {
        const auto address = v4_address_of(ip.address);
        if (!address) {
            continue;
        }
        if (!source) {
            source = address;
        }
        if (!gateway && !ip.gateway.empty()) {
            gateway = net::parse_ip(ip.gateway);
        }
    }
    if (!source || !gateway || !gateway->is_v4()) {
        return std::nullopt;
    }
    EgressTarget target;
    target.key = state.key();
    target.pod = plan::pod_ref_from_args(entry.attachment.cni_args);
    target.netns = state.netns;
    target.network = entry.attachment.network;
    target.ifname = entry.attachment.ifname;
    target.source = *source;
    target.gateway = *gateway;
    target.probe_target = egress->probe_target;
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
            if (auto target = egress_target_of(state, entry, plugin)) {
                out.egress.push_back(std::move(*target));
            }
        }
    }
    return out;
}

}  // namespace splitnet::agent
