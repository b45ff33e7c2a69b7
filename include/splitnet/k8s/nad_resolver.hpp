#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/config/meta_conf.hpp"
#include "splitnet/k8s/pod_source.hpp"
#include "splitnet/plan/delegate_spec.hpp"

namespace splitnet::k8s {

class ApiClient;

/// Config bytes of a NetworkAttachmentDefinition object: spec.config with name injection, or the
/// confDir file named after the NAD when spec.config is empty (NAD client GetCNIConfig).
std::string nad_config(const nlohmann::json& nad, const std::string& nad_name,
                       const std::string& conf_dir);

/// One GET of the NAD; nullopt on 404. The names must be DNS-1123 (checked: no path traversal).
std::optional<nlohmann::json> fetch_nad(ApiClient& client, const std::string& ns,
                                        const std::string& name);

/// A NetworkAttachmentDefinition a pod's annotation selected that could not be read (no API
/// access, not found, or the GET failed): what Multus reports as a NoNetworkFound Event.
struct MissingNetwork {
    std::string namespace_;
    std::string name;
    std::string error;  ///< why, e.g. network-attachment-definitions.k8s.cni.cncf.io "x" not found
};

/// The primary as resolve_delegates finds it before the pod's annotations are read, when the
/// node config alone decides it without the API (inline `delegates`, or a clusterNetwork path);
/// nullopt when clusterNetwork names a NAD. The default-network annotation may still replace it.
/// Throws as resolve_delegates does.
std::optional<plan::DelegateSpec> config_primary_without_api(const config::MetaConf& conf);

/// The delegate list for ADD (or the DEL rebuild), in Multus order:
/// 1. primary: clusterNetwork (NAD in multusNamespace, then a confDir file by name; or a path) —
///    else every inline `delegates` entry ([0] primary); the v1.multus-cni.io/default-network
///    annotation then replaces the primary (NAD in multusNamespace, one element at most);
/// 2. defaultNetworks (clusterNetwork mode only, as Multus), skipped for systemNamespaces pods and
///    when there is no pod;
/// 3. the k8s.v1.cni.cncf.io/networks annotation in order (namespace isolation, one NAD GET each,
///    empty spec.config -> confDir), each with its Selection.
/// Without a client, clusterNetwork/defaultNetworks resolve from files only, and a pod that asks
/// for networks is an error. Throws cni::Error with Multus-like messages; when the reason is a NAD
/// of the annotations that could not be read, `missing` (if given) says which, before the throw.
std::vector<plan::DelegateSpec> resolve_delegates(const config::MetaConf& conf, ApiClient* client,
                                                  const std::optional<PodInfo>& pod,
                                                  std::optional<MissingNetwork>* missing = nullptr);

}  // namespace splitnet::k8s
