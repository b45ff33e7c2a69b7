#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitnet::config {

enum class ResultMode { Merged, Primary };

/// The meta-plugin configuration (Multus keys + splitnet's own), keys matched case-insensitively.
struct MetaConf {
    std::string cni_version;
    std::string name;
    std::string type;

    std::vector<nlohmann::json> delegates;  ///< conf or conflist objects; [0] is the primary
    std::string cluster_network;
    std::vector<std::string> default_networks;

    std::string kubeconfig;
    std::string conf_dir = "/etc/cni/multus/net.d";
    std::string cni_dir = "/var/lib/cni/splitnet";
    std::string multus_cni_dir = "/var/lib/cni/multus";  ///< Go Multus caches read on DEL
    std::string bin_dir = "/opt/cni/bin";

    std::string log_file;
    std::string log_level = "warn";
    bool log_to_stderr = true;

    bool namespace_isolation = false;
    std::vector<std::string> global_namespaces = {"default"};
    std::vector<std::string> system_namespaces = {"kube-system"};
    std::string multus_namespace = "kube-system";

    std::string readiness_indicator_file;
    std::chrono::milliseconds readiness_timeout{std::chrono::seconds(45)};
    bool retry_delete_on_error = false;
    std::string auxiliary_cni_chain_name;

    ResultMode result_mode = ResultMode::Merged;
    std::chrono::milliseconds delegate_timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds api_timeout{std::chrono::seconds(10)};  ///< bound on the API phase
    std::vector<std::string> cluster_cidrs;  ///< for egress keep: "cluster"
    /// The cluster DNS Service IP ("clusterDNS"): where egress.dns answers in the pod. Trusted,
    /// node-level; a NAD cannot set it.
    std::string cluster_dns;
    bool strict_annotations = false;
    bool disable_native = false;  ///< exec every plugin, even macvlan (reference behaviour)
    /// Independent attachments are deleted concurrently ("overlap"); false: one after another,
    /// in reverse plan order, as Multus does.
    bool overlap = true;

    nlohmann::json runtime_config = nlohmann::json::object();
    nlohmann::json prev_result;  ///< null when absent
    nlohmann::json raw;          ///< the whole stdin document
};

/// Parses stdin (after the Go-skel checks in cni::). Throws Error(DecodingFailure) for bad JSON and
/// Error(InvalidNetworkConfig) for bad values, naming the key.
MetaConf parse_meta_conf(std::string_view bytes);

}  // namespace splitnet::config
