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

[[noreturn]] void bad_key(std::string_view key, std::string_view expected) {
    cni::fail_config(fmt::format("invalid config key \"{}\": expected {}", key, expected));
}

// Each reader leaves `out` as it is when the key is absent or null.

void read_string(const json& doc, std::string_view key, std::string& out) {
    if (const auto* value = util::find_key_go(doc, key); value != nullptr && !value->is_null()) {
        auto text = util::json_string(*value);
        if (!text) {
            bad_key(key, "a string");
        }
        out = std::move(*text);
    }
}

void read_bool(const json& doc, std::string_view key, bool& out) {
    if (const auto* value = util::find_key_go(doc, key); value != nullptr && !value->is_null()) {
        const auto flag = util::json_bool(*value);
        if (!flag) {
            bad_key(key, "true or false");
        }
        out = *flag;
    }
}

void read_strings(const json& doc, std::string_view key, std::vector<std::string>& out) {
    if (const auto* value = util::find_key_go(doc, key); value != nullptr && !value->is_null()) {
        auto list = util::json_string_list(*value);
        if (!list) {
            bad_key(key, "a list of strings");
        }
        out = std::move(*list);
    }
}

void read_seconds(const json& doc, std::string_view key, std::chrono::milliseconds& out) {
    if (const auto* value = util::find_key_go(doc, key)) {
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

MetaConf parse_meta_conf(std::string_view bytes) {
    MetaConf conf;
    // The Go skel's message and code 6, also for a document too large or too deeply nested.
    conf.raw = util::parse_json_bounded(bytes, "error unmarshall network config",
                                        {util::kMaxConfigBytes, util::kMaxJsonDepth});
    const json& doc = conf.raw;
    if (!doc.is_object()) {
        cni::fail(cni::ErrorCode::DecodingFailure,
                  "error unmarshall network config: not a JSON object");
    }
    read_string(doc, "cniVersion", conf.cni_version);
    read_string(doc, "name", conf.name);
    read_string(doc, "type", conf.type);
    if (const auto* delegates = util::find_key_go(doc, "delegates");
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
    if (const auto* rc = util::find_key_go(doc, "runtimeConfig");
        rc != nullptr && rc->is_object()) {
        conf.runtime_config = *rc;
    }
    if (const auto* prev = util::find_key_go(doc, "prevResult");
        prev != nullptr && prev->is_object()) {
        conf.prev_result = *prev;
    }
    return conf;
}

}  // namespace splitnet::config
