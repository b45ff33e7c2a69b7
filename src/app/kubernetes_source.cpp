#include "splitnet/app/kubernetes_source.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/k8s.hpp"
#include "splitnet/k8s/kubeconfig.hpp"

namespace splitnet::app {

KubernetesSource::KubernetesSource(std::unique_ptr<k8s::ApiClient> client)
    : client_(std::move(client)), client_made_(true) {}

k8s::ApiClient* KubernetesSource::client(const config::MetaConf& conf) {
    if (!client_made_) {
        client_made_ = true;
        client_ = k8s::make_client(conf);
    }
    return client_.get();
}

std::vector<plan::DelegateSpec> KubernetesSource::resolve_for_add(const config::MetaConf& conf,
                                                                  const cni::Request& request) {
    const auto ref = plan::pod_ref_from_args(request.args);
    auto* api = client(conf);
    std::optional<k8s::PodInfo> pod;
    if (!ref.name.empty()) {
        pod = k8s::get_pod(api, conf, ref);
        if (!pod && api != nullptr) {
            // Multus (>= 4.2) answers a fake result without calling any delegate here; we still
            // attach the cluster network so the sandbox is usable, without secondaries.
            spdlog::warn("pod {}/{} not found in the API: attaching the cluster network only",
                         ref.namespace_, ref.name);
        }
    }
    return k8s::resolve_delegates(conf, api, pod);
}

std::vector<plan::DelegateSpec> KubernetesSource::resolve_fallback(const config::MetaConf& conf,
                                                                   const cni::Request& request) {
    const auto ref = plan::pod_ref_from_args(request.args);
    k8s::ApiClient* api = nullptr;
    std::optional<k8s::PodInfo> pod;
    try {
        api = client(conf);
        if (!ref.name.empty()) {
            pod = k8s::get_pod(api, conf, ref);
        }
    } catch (const cni::Error& e) {
        spdlog::warn(
            "DEL without state: pod {}/{} unreadable ({}), deleting what the config "
            "alone resolves",
            ref.namespace_, ref.name, e.what());
    }
    try {
        return k8s::resolve_delegates(conf, api, pod);
    } catch (const cni::Error& e) {
        if (!pod) {
            throw;
        }
        spdlog::warn(
            "DEL without state: pod networks unresolvable ({}), deleting the cluster "
            "network only",
            e.what());
        return k8s::resolve_delegates(conf, api, std::nullopt);
    }
}

void KubernetesSource::after_add(const config::MetaConf& conf, const cni::Request& request,
                                 const std::vector<store::AttachmentState>& attachments) {
    auto* api = client(conf);
    if (api == nullptr) {
        return;  // no API access: nothing to annotate, as Multus
    }
    const auto ref = plan::pod_ref_from_args(request.args);
    if (ref.name.empty()) {
        return;
    }
    std::vector<k8s::AttachmentStatus> statuses;
    for (const auto& state : attachments) {
        if (!state.result.is_null()) {
            statuses.push_back({state.attachment.network, state.attachment.ifname,
                                state.attachment.is_primary, state.result});
        }
    }
    k8s::write_network_status(*api, ref, k8s::network_status_value(statuses));
}

std::unique_ptr<verbs::NetworkSource> make_network_source(const config::MetaConf& conf) {
    const cni::Getenv getenv = [](std::string_view name) -> std::optional<std::string> {
        const char* value =
            std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
    if (!conf.kubeconfig.empty() || !conf.cluster_network.empty() ||
        k8s::in_cluster_available(getenv)) {
        return std::make_unique<KubernetesSource>();
    }
    return std::make_unique<verbs::InlineSource>();
}

}  // namespace splitnet::app
