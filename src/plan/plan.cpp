#include "splitnet/plan/plan.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "splitnet/cni/args.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::plan {
namespace {

using nlohmann::json;

// The runtimeConfig keys Multus understands; anything else the runtime sent stays with us.
constexpr std::array<std::string_view, 7> kRuntimeConfigKeys = {
    "portMappings", "bandwidth", "ips", "mac", "infinibandGUID", "deviceID", "CNIDeviceInfoFile"};

json known_runtime_config(const json& runtime_config) {
    json out = json::object();
    if (!runtime_config.is_object()) {
        return out;
    }
    for (const auto key : kRuntimeConfigKeys) {
        if (const auto it = runtime_config.find(std::string(key)); it != runtime_config.end()) {
            out[std::string(key)] = *it;
        }
    }
    return out;
}

json selection_runtime_config(const json& base, const Selection& selection) {
    json out = base;
    if (!selection.port_mappings.is_null()) {
        out["portMappings"] = selection.port_mappings;
    }
    if (!selection.bandwidth.is_null()) {
        out["bandwidth"] = selection.bandwidth;
    }
    if (!selection.ips.empty()) {
        out["ips"] = selection.ips;
    }
    if (!selection.mac.empty()) {
        out["mac"] = selection.mac;
    }
    if (!selection.infiniband_guid.empty()) {
        out["infinibandGUID"] = selection.infiniband_guid;
    }
    if (!selection.device_id.empty()) {
        out["deviceID"] = selection.device_id;
    }
    return out;
}

// Multus' order: IgnoreUnknown and the K8S_* keys first, then the runtime's own pairs. A runtime
// pair fills an empty K8S_* slot or is appended once; unlike thin Multus, keys never repeat.
cni::ArgPairs delegate_args(const cni::ArgPairs& runtime_args, const PodRef& pod) {
    cni::ArgPairs out = {{"IgnoreUnknown", "true"},
                         {"K8S_POD_NAMESPACE", pod.namespace_},
                         {"K8S_POD_NAME", pod.name},
                         {"K8S_POD_INFRA_CONTAINER_ID", pod.infra_container_id},
                         {"K8S_POD_UID", pod.uid}};
    for (const auto& pair : runtime_args) {
        auto existing = std::find_if(out.begin(), out.end(),
                                     [&](const auto& item) { return item.first == pair.first; });
        if (existing == out.end()) {
            out.push_back(pair);
        } else if (existing->second.empty()) {
            existing->second = pair.second;
        }
    }
    return out;
}

void merge_cni_args(json& plugin, const json& cni_args) {
    if (!plugin.contains("args") || !plugin["args"].is_object()) {
        plugin["args"] = json::object();
    }
    auto& args = plugin["args"];
    if (!args.contains("cni") || !args["cni"].is_object()) {
        args["cni"] = json::object();
    }
    for (const auto& [key, value] : cni_args.items()) {
        args["cni"][key] = value;
    }
}

// cni-args from the annotation go into args.cni of the conf, or of every plugin of a conflist.
std::string config_with_cni_args(const std::string& config, const json& cni_args) {
    if (cni_args.is_null() || !cni_args.is_object() || cni_args.empty()) {
        return config;
    }
    // Composed: a conflist may hold plugins appended from its subdirectory (conf_files.cpp).
    json doc = util::parse_json_bounded(config, "delegate configuration",
                                        {util::kMaxConfigBytes, util::kMaxComposedJsonDepth});
    if (util::network_config_shape(doc) == util::NetworkConfigShape::ConfList) {
        for (auto& plugin : *util::find_key_go(doc, "plugins")) {
            // Only plugins[0] was checked when the config was loaded.
            if (!plugin.is_object()) {
                throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                                 "cannot apply the annotation's cni-args: a plugin of the "
                                 "conflist is not a JSON object");
            }
            merge_cni_args(plugin, cni_args);
        }
    } else {
        merge_cni_args(doc, cni_args);
    }
    return util::dump_json(doc);
}

}  // namespace

std::string attachment_cni_args(const std::string& runtime_args, const Selection* selection,
                                bool for_add) {
    auto args = delegate_args(cni::parse_cni_args(runtime_args), pod_ref_from_args(runtime_args));
    // Static IPAM and macvlan read IP=/MAC= without declaring capabilities (Multus).
    if (for_add && selection != nullptr && !selection->mac.empty()) {
        args.emplace_back("MAC", selection->mac);
    }
    if (for_add && selection != nullptr && !selection->ips.empty()) {
        args.emplace_back("IP", fmt::format("{}", fmt::join(selection->ips, ",")));
    }
    return cni::join_cni_args(args);
}

PodRef pod_ref_from_args(const std::string& cni_args) {
    PodRef pod;
    const auto pairs = cni::parse_cni_args(cni_args);
    pod.namespace_ = cni::arg_value(pairs, "K8S_POD_NAMESPACE");
    pod.name = cni::arg_value(pairs, "K8S_POD_NAME");
    pod.uid = cni::arg_value(pairs, "K8S_POD_UID");
    pod.infra_container_id = cni::arg_value(pairs, "K8S_POD_INFRA_CONTAINER_ID");
    return pod;
}

std::vector<Attachment> build_plan(const std::vector<DelegateSpec>& specs,
                                   const config::MetaConf& conf, const cni::Request& request,
                                   bool for_add) {
    const json base_runtime_config = known_runtime_config(conf.runtime_config);
    std::vector<Attachment> plan;
    plan.reserve(specs.size());
    for (std::size_t idx = 0; idx < specs.size(); ++idx) {
        const auto& spec = specs[idx];
        Attachment attachment;
        attachment.network = spec.name;
        attachment.is_primary = spec.is_primary;
        attachment.selection = spec.selection;
        // Requested name > the runtime's CNI_IFNAME for the primary > net<idx> over the full list.
        if (spec.selection && !spec.selection->interface.empty()) {
            attachment.ifname = spec.selection->interface;
        } else if (spec.is_primary) {
            attachment.ifname = request.ifname;
        } else {
            attachment.ifname = fmt::format("net{}", idx);
        }
        attachment.runtime_config = base_runtime_config;
        attachment.config = spec.config;
        if (spec.selection) {
            const auto& selection = *spec.selection;
            attachment.runtime_config = selection_runtime_config(base_runtime_config, selection);
            attachment.config = config_with_cni_args(spec.config, selection.cni_args);
        }
        attachment.cni_args =
            attachment_cni_args(request.args, spec.selection ? &*spec.selection : nullptr, for_add);
        plan.push_back(std::move(attachment));
    }
    return plan;
}

}  // namespace splitnet::plan
