#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/events.hpp"
#include "splitnet/k8s/nad_resolver.hpp"
#include "splitnet/k8s/pod_source.hpp"
#include "splitnet/verbs/run.hpp"

namespace splitnet::app {

/// Networks from Kubernetes (Multus drop-in): pod annotations, NADs, clusterNetwork and
/// defaultNetworks, plus the network-status annotation and Events after ADD. One API client (one
/// TLS connection, one apiTimeout budget) per invocation, created on first use: a DEL served from
/// state never reads the kubeconfig nor touches the API.
class KubernetesSource final : public verbs::NetworkSource {
public:
    KubernetesSource() = default;
    /// For tests: a ready client (or none).
    explicit KubernetesSource(std::unique_ptr<k8s::ApiClient> client);

    std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& conf,
                                                    const cni::Request& request) override;
    /// For a request that names its pod (whose GET resolve_for_add waits for): the config's
    /// primary when it resolves without the API (k8s::config_primary_without_api).
    std::optional<plan::DelegateSpec> primary_before_resolve(const config::MetaConf& conf,
                                                             const cni::Request& request) override;
    /// DEL without state (Multus' rebuild): current annotations/NADs when the pod is readable,
    /// else whatever resolves without it; API failures never fail the DEL here.
    std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                     const cni::Request& request) override;
    /// A Go Multus scratch cache for this container (in-place migration), with libcni's cached
    /// results as prevResult; a corrupt cache is ignored (logged).
    std::optional<std::vector<store::AttachmentState>> multus_cache(
        const config::MetaConf& conf, const cni::Request& request) override;
    /// network-status, then one AddedInterface Event per attachment (best effort).
    void after_add(const config::MetaConf& conf, const cni::Request& request,
                   const std::vector<store::AttachmentState>& attachments) override;
    /// One Warning Event (best effort): NoNetworkFound when a NAD the pod selected could not be
    /// read, else FailedAddInterface.
    void add_failed(const config::MetaConf& conf, const cni::Request& request,
                    const cni::Error& error) noexcept override;

    /// Bound on the time all Events of one invocation may take, inside the apiTimeout budget:
    /// an API server that hangs on Events delays ADD by at most this much.
    static constexpr std::chrono::milliseconds kEventsTimeLimit{2000};

private:
    k8s::ApiClient* client(const config::MetaConf& conf);
    /// Posts `events` about the pod of `request` in order; stops at the first failure and logs
    /// it in one line. Never throws. No API access, no pod name, or a pod the API does not know:
    /// nothing is posted.
    void post_events(const config::MetaConf& conf, const cni::Request& request,
                     const std::vector<k8s::EventSpec>& events) noexcept;

    std::unique_ptr<k8s::ApiClient> client_;
    bool client_made_ = false;
    /// The pod resolve_for_add read (nullopt: not read, or not found).
    std::optional<k8s::PodInfo> pod_;
    bool pod_not_found_ = false;
    /// The NAD of the pod's annotations that resolve_for_add could not read, if that failed it.
    std::optional<k8s::MissingNetwork> missing_network_;
    std::chrono::steady_clock::duration events_time_{};
};

/// The production source. Without API access it still reads pod annotations a runtime passes
/// in runtimeConfig (CRI-O) and resolves NADs from confDir files.
std::unique_ptr<verbs::NetworkSource> make_network_source();

}  // namespace splitnet::app
