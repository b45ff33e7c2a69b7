#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "splitnet/config/meta_conf.hpp"
#include "splitnet/plan/plan.hpp"

namespace splitnet::k8s {

class ApiClient;

inline constexpr std::string_view kRuntimePodAnnotations = "io.kubernetes.cri.pod-annotations";

struct PodInfo {
    std::string namespace_;
    std::string name;
    std::string uid;
    nlohmann::json annotations = nlohmann::json::object();  ///< string -> string
    bool from_runtime = false;  ///< annotations came from runtimeConfig, no GET was made
    std::string node_name{};    ///< spec.nodeName of a pod GET (untrusted; for Events only)
};

/// Pod annotations: from runtimeConfig "io.kubernetes.cri.pod-annotations" when the runtime passed
/// them (CRI-O; no GET, no UID check possible), else one GET of the pod. Returns nullopt when the
/// pod is not found (404) and also when `client` is null and the runtime passed no annotations
/// (no API access: the caller knows which by checking `client`). A UID differing from ref.uid
/// throws unless the pod is static (annotation kubernetes.io/config.source != "api"), as Multus.
/// API failures throw cni::Error (the caller decides whether that is fatal, e.g. not on DEL).
std::optional<PodInfo> get_pod(ApiClient* client, const config::MetaConf& conf,
                               const plan::PodRef& ref);

/// The pod as read from the body of a successful pod GET (untrusted: only string fields and
/// string annotations are kept); namespace and name default to `ref`'s. Throws like get_pod when
/// the UID differs.
PodInfo pod_from_body(const nlohmann::json& body, const plan::PodRef& ref);

/// Multus' IsStaticPod on a pod's annotations.
bool is_static_pod(const nlohmann::json& annotations);

}  // namespace splitnet::k8s
