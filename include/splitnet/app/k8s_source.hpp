#pragma once

#include <memory>
#include <optional>

#include "splitnet/k8s/k8s.hpp"
#include "splitnet/verbs/context.hpp"

namespace splitnet::app {

/// The production NetworkSource: Multus semantics (inline delegates or clusterNetwork, the pod's
/// annotations and NADs) through the Kubernetes API when there is access, files otherwise.
class K8sSource final : public verbs::NetworkSource {
public:
    std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& conf,
                                                    const cni::Request& request) override;
    std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                     const cni::Request& request) override;
    std::optional<std::vector<store::AttachmentState>> multus_cache(
        const config::MetaConf& conf, const cni::Request& request) override;
    void after_add(const config::MetaConf& conf, const cni::Request& request,
                   const std::vector<store::AttachmentState>& attachments) override;

private:
    k8s::ApiClient* client(const config::MetaConf& conf);

    bool client_made_ = false;
    std::unique_ptr<k8s::ApiClient> client_;
    std::optional<k8s::PodInfo> pod_;
};

}  // namespace splitnet::app
