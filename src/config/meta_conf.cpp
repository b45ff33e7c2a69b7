#include "splitnet/config/meta_conf.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::config {
namespace {

using nlohmann::json;

using util::iequals;

[[noreturn]] void bad_key(std::string_view key, std::string_view expected) {
    throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                     fmt::format("invalid config key \"{}\": expected {}", key, expected));
}

void read_string(const json& doc, std::string_view key, std::string& out) {
    if (const auto* value = find_key(doc, key)) {
        if (value->is_null()) {
            return;
        }
        if (!value->is_string()) {
            bad_key(key, "a string");
        }
        out = value->get<std::string>();
    }
}

void read_bool(const json& doc, std::string_view key, bool& out) {
    if (const auto* value = find_key(doc, key)) {
        if (value->is_null()) {
            return;
        }
        if (!value->is_boolean()) {
            bad_key(key, "true or false");
        }
        out = value->get<bool>();
    }
}

void read_strings(const json& doc, std::string_view key, std::vector<std::string>& out) {
    if (const auto* value = find_key(doc, key)) {
        if (value->is_null()) {
            return;
        }
        if (!value->is_array()) {
            bad_key(key, "a list of strings");
        }
        out.clear();
        for (const auto& item : *value) {
            if (!item.is_string()) {
                bad_key(key, "a list of strings");
            }
            out.push_back(item.get<std::string>());
        }
    }
}

void read_seconds(const json& doc, std::string_view key, std::chrono::milliseconds& out) {
    if (const auto* value = find_key(doc, key)) {
        if (value->is_null()) {
            return;
        }
        if (!value->is_number() || value->get<double>() <= 0 || value->get<double>() > 86400) {
            bad_key(key, "a number of seconds between 0 and 86400");
        }
        out = std::chrono::milliseconds(std::llround(value->get<double>() * 1000.0));
    }
}

// Multus reads globalNamespaces as one comma-separated string.
std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> out;
    for (const auto piece : util::split(text, ',')) {
        if (const auto item = util::trim(piece); !item.empty()) {
            out.emplace_back(item);
        }
    }
    return out;
}

}  // namespace

const json* find_key(const json& object, std::string_view key) {
    if (!object.is_object()) {
        return nullptr;
    }
    if (const auto exact = object.find(std::string(key)); exact != object.end()) {
        return &*exact;
    }
    const json* match = nullptr;
    for (const auto& [name, value] : object.items()) {
        if (iequals(name, key)) {
            match = &value;
        }
    }
    return match;
}

MetaConf parse_meta_conf(std::string_view bytes) {
    MetaConf conf;
    // The Go skel's message and code 6, also for a document too large or too deeply nested.
    conf.raw = util::parse_json_bounded(bytes, "error unmarshall network config",
                                        {util::kMaxConfigBytes, util::kMaxJsonDepth});
    const json& doc = conf.raw;
    if (!doc.is_object()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         "error unmarshall network config: not a JSON object");
    }
    read_string(doc, "cniVersion", conf.cni_version);
    read_string(doc, "name", conf.name);
    read_string(doc, "type", conf.type);
    if (const auto* delegates = find_key(doc, "delegates");
        delegates != nullptr && !delegates->is_null()) {
        if (!delegates->is_array()) {
            bad_key("delegates", "a list of CNI network configurations");
        }
        for (const auto& item : *delegates) {
            if (!item.is_object()) {
                bad_key("delegates", "a list of CNI network configurations");
            }
            conf.delegates.push_back(item);
        }
    }
    read_string(doc, "clusterNetwork", conf.cluster_network);
    read_strings(doc, "defaultNetworks", conf.default_networks);
    read_string(doc, "kubeconfig", conf.kubeconfig);
    read_string(doc, "confDir", conf.conf_dir);
    read_string(doc, "cniDir", conf.cni_dir);
    read_string(doc, "multusCniDir", conf.multus_cni_dir);
    read_string(doc, "binDir", conf.bin_dir);
    read_string(doc, "logFile", conf.log_file);
    read_string(doc, "logLevel", conf.log_level);
    read_bool(doc, "logToStderr", conf.log_to_stderr);
    read_bool(doc, "namespaceIsolation", conf.namespace_isolation);
    std::string global_namespaces;
    read_string(doc, "globalNamespaces", global_namespaces);
    if (!global_namespaces.empty()) {
        conf.global_namespaces = split_commas(global_namespaces);
    }
    read_strings(doc, "systemNamespaces", conf.system_namespaces);
    read_string(doc, "multusNamespace", conf.multus_namespace);
    read_string(doc, "readinessindicatorfile", conf.readiness_indicator_file);
    read_seconds(doc, "readinessTimeout", conf.readiness_timeout);
    read_bool(doc, "retryDeleteOnError", conf.retry_delete_on_error);
    read_string(doc, "auxiliaryCNIChainName", conf.auxiliary_cni_chain_name);
    std::string result_mode;
    read_string(doc, "resultMode", result_mode);
    if (result_mode == "primary") {
        conf.result_mode = ResultMode::Primary;
    } else if (!result_mode.empty() && result_mode != "merged") {
        bad_key("resultMode", R"("merged" or "primary")");
    }
    read_seconds(doc, "delegateTimeout", conf.delegate_timeout);
    read_seconds(doc, "apiTimeout", conf.api_timeout);
    read_strings(doc, "clusterCIDRs", conf.cluster_cidrs);
    read_string(doc, "clusterDNS", conf.cluster_dns);
    read_bool(doc, "strictAnnotations", conf.strict_annotations);
    read_bool(doc, "disableNative", conf.disable_native);
    read_bool(doc, "overlap", conf.overlap);
    if (const auto* rc = find_key(doc, "runtimeConfig"); rc != nullptr && rc->is_object()) {
        conf.runtime_config = *rc;
    }
    if (const auto* prev = find_key(doc, "prevResult"); prev != nullptr && prev->is_object()) {
        conf.prev_result = *prev;
    }
    return conf;
}

}  // namespace splitnet::config
