#include "splitnet/app/k8s_source.hpp"

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/multus_cache.hpp"

namespace splitnet::app {

k8s::ApiClient* K8sSource::client(const config::MetaConf& conf) {
    if (!client_made_) {
        client_made_ = true;
        client_ = k8s::make_client(conf);
    }
    return client_.get();
}

std::vector<plan::DelegateSpec> K8sSource::resolve_for_add(const config::MetaConf& conf,
                                                           const cni::Request& request) {
    const auto ref = plan::pod_ref_from_args(request.args);
    auto* api = client(conf);
    if (!ref.name.empty()) {
        pod_ = k8s::get_pod(api, conf, ref);
        if (!pod_ && api != nullptr) {
            // The pod object is gone (being deleted): attach the cluster network only, so the
            // sandbox gets a real address; Multus returns a fake 0.0.0.0/0 result instead.
            spdlog::warn("pod {}/{} not found in the API: attaching the cluster network only",
                         ref.namespace_, ref.name);
        }
    }
    return k8s::resolve_delegates(conf, api, pod_);
}

std::vector<plan::DelegateSpec> K8sSource::resolve_fallback(const config::MetaConf& conf,
                                                            const cni::Request& request) {
    // DEL/CHECK/STATUS/GC must work with the API down: try it within the budget, then fall back
    // to what the files alone can say (at least the primary).
    try {
        return resolve_for_add(conf, request);
    } catch (const cni::Error& e) {
        spdlog::warn("cannot resolve the pod's networks ({}); using the cluster network only",
                     e.what());
    }
    return k8s::resolve_delegates(conf, nullptr, std::nullopt);
}

std::optional<std::vector<store::AttachmentState>> K8sSource::multus_cache(
    const config::MetaConf& conf, const cni::Request& request) {
    std::optional<std::vector<plan::Attachment>> cached;
    try {
        cached = store::read_multus_cache(conf.multus_cni_dir, request.container_id,
                                          request.ifname, conf.cni_version);
    } catch (const cni::Error& e) {
        // A corrupt cache (node crash) must not make DEL give up: replay the config instead.
        spdlog::warn("ignoring the Go Multus cache: {}", e.what());
    }
    if (!cached) {
        return std::nullopt;
    }
    std::vector<store::AttachmentState> out;
    for (auto& attachment : *cached) {
        attachment.cni_args = plan::attachment_cni_args(request.args, nullptr, /*for_add=*/false);
        const auto net_name = nlohmann::json::parse(attachment.config).value("name", std::string());
        auto prev = store::read_libcni_result(conf.multus_cni_dir, net_name, request.container_id,
                                              attachment.ifname);
        out.push_back({std::move(attachment), prev ? *prev : nlohmann::json()});
    }
    return out;
}

void K8sSource::after_add(const config::MetaConf& conf, const cni::Request& request,
                          const std::vector<store::AttachmentState>& attachments) {
    auto* api = client(conf);
    if (api == nullptr || !pod_ || pod_->from_runtime) {
        return;  // no API access: nothing to write (as Multus)
    }
    std::vector<k8s::AttachmentStatus> statuses;
    for (const auto& state : attachments) {
        statuses.push_back({state.attachment.network, state.attachment.ifname,
                            state.attachment.is_primary, state.result});
    }
    k8s::write_network_status(*api, plan::pod_ref_from_args(request.args),
                              k8s::network_status_value(statuses));
}

}  // namespace splitnet::app
