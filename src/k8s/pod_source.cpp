#include "splitnet/k8s/pod_source.hpp"

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"

namespace splitnet::k8s {
namespace {

std::string text_at(const nlohmann::json& obj, const char* key) {
    if (obj.is_object()) {
        if (auto it = obj.find(key); it != obj.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    return {};
}

/// Keeps only string values: Kubernetes annotations are map[string]string.
nlohmann::json string_map(const nlohmann::json& value) {
    auto out = nlohmann::json::object();
    if (value.is_object()) {
        for (const auto& [key, item] : value.items()) {
            if (item.is_string()) {
                out[key] = item;
            }
        }
    }
    return out;
}

}  // namespace

bool is_static_pod(const nlohmann::json& annotations) {
    if (annotations.is_object()) {
        if (auto it = annotations.find("kubernetes.io/config.source");
            it != annotations.end() && it->is_string()) {
            return it->get<std::string>() != "api";
        }
    }
    return false;
}

PodInfo pod_from_body(const nlohmann::json& body, const plan::PodRef& ref) {
    const auto& metadata = body.contains("metadata") ? body["metadata"] : nlohmann::json::object();
    PodInfo pod;
    pod.namespace_ = text_at(metadata, "namespace");
    pod.name = text_at(metadata, "name");
    pod.uid = text_at(metadata, "uid");
    pod.annotations = string_map(metadata.is_object() && metadata.contains("annotations")
                                     ? metadata["annotations"]
                                     : nlohmann::json());
    if (const auto spec = body.find("spec"); spec != body.end()) {
        pod.node_name = text_at(*spec, "nodeName");
    }
    if (pod.namespace_.empty()) {
        pod.namespace_ = ref.namespace_;
    }
    if (pod.name.empty()) {
        pod.name = ref.name;
    }
    if (!ref.uid.empty() && pod.uid != ref.uid && !is_static_pod(pod.annotations)) {
        throw cni::Error(cni::ErrorCode::Other, "expected pod UID \"" + ref.uid + "\" but got \"" +
                                                    pod.uid + "\" from Kube API");
    }
    return pod;
}

std::optional<PodInfo> get_pod(ApiClient* client, const config::MetaConf& conf,
                               const plan::PodRef& ref) {
    if (conf.runtime_config.is_object()) {
        if (auto it = conf.runtime_config.find(std::string(kRuntimePodAnnotations));
            it != conf.runtime_config.end() && it->is_object()) {
            spdlog::debug("pod {}/{}: annotations from the runtime, no pod GET", ref.namespace_,
                          ref.name);
            return PodInfo{ref.namespace_, ref.name, ref.uid, string_map(*it), true};
        }
    }
    if (client == nullptr) {
        return std::nullopt;
    }
    if (!is_dns1123_label(ref.namespace_) || !is_dns1123_subdomain(ref.name)) {
        throw cni::Error(cni::ErrorCode::InvalidEnvironment,
                         "CNI_ARGS K8S_POD_NAMESPACE=\"" + ref.namespace_ + "\" K8S_POD_NAME=\"" +
                             ref.name + "\" are not valid Kubernetes names");
    }
    const auto response = client->get(pod_path(ref.namespace_, ref.name));
    if (response.status == 404) {
        spdlog::info("pod {}/{} not found: {}", ref.namespace_, ref.name, status_message(response));
        return std::nullopt;
    }
    if (response.status != 200 || !response.body.is_object()) {
        throw cni::Error(cni::ErrorCode::TryAgainLater, "error getting pod " + ref.namespace_ +
                                                            "/" + ref.name + ": " +
                                                            status_message(response));
    }
    return pod_from_body(response.body, ref);
}

}  // namespace splitnet::k8s
