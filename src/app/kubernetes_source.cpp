#include "splitnet/app/kubernetes_source.hpp"

#include <array>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/k8s.hpp"
#include "splitnet/k8s/kubeconfig.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::app {
namespace {

// The "name" of a cached config: libcni keys its result cache by it. The cache is untrusted: a
// name that is not a string must not fail the DEL.
std::string config_name(const std::string& config) {
    // parse_multus_cache checked that the config is a bounded JSON object.
    const auto doc =
        util::try_parse_json_bounded(config, {util::kMaxResultBytes, util::kMaxComposedJsonDepth})
            .value_or(nullptr);
    if (doc.is_object()) {
        if (const auto it = doc.find("name"); it != doc.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    return {};
}

// The node's name for Events (reportingInstance) when the pod GET did not say: the host name,
// which is what kubelet registers the node as unless told otherwise.
std::string host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) {
        return {};
    }
    std::string name(buf.data());
    for (auto& c : name) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');  // kubelet lowercases it too
        }
    }
    return name;
}

}  // namespace

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
        pod_ = pod;
        pod_not_found_ = !pod && api != nullptr;
        if (!pod && api != nullptr) {
            // Multus (>= 4.2) answers a fake result without calling any delegate here; we still
            // attach the cluster network so the sandbox is usable, without secondaries.
            spdlog::warn("pod {}/{} not found in the API: attaching the cluster network only",
                         ref.namespace_, ref.name);
        }
    }
    return k8s::resolve_delegates(conf, api, pod, &missing_network_);
}

std::optional<plan::DelegateSpec> KubernetesSource::primary_before_resolve(
    const config::MetaConf& conf, const cni::Request& request) {
    if (plan::pod_ref_from_args(request.args).name.empty()) {
        return std::nullopt;  // no pod to read: resolve_for_add answers at once
    }
    return k8s::config_primary_without_api(conf);
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

std::optional<std::vector<store::AttachmentState>> KubernetesSource::multus_cache(
    const config::MetaConf& conf, const cni::Request& request) {
    std::optional<std::vector<plan::Attachment>> cached;
    try {
        cached = store::read_multus_cache(conf.multus_cni_dir, request.container_id, request.ifname,
                                          conf.cni_version);
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
        const auto net_name = config_name(attachment.config);
        auto prev = store::read_libcni_result(conf.multus_cni_dir, net_name, request.container_id,
                                              attachment.ifname);
        out.push_back({std::move(attachment), prev ? *prev : nlohmann::json()});
    }
    return out;
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
    // After network-status: Events say the pod has its interfaces once everything it needs is
    // written; a failure of the annotation fails ADD and gets the Warning instead.
    std::vector<k8s::EventSpec> events;
    try {
        events = k8s::added_interface_events(statuses);
    } catch (const cni::Error& e) {
        spdlog::warn("no AddedInterface Events: {}", e.what());
        return;
    }
    post_events(conf, request, events);
}

void KubernetesSource::add_failed(const config::MetaConf& conf, const cni::Request& request,
                                  const cni::Error& error) noexcept {
    try {
        post_events(conf, request,
                    {missing_network_ ? k8s::no_network_found_event(*missing_network_)
                                      : k8s::failed_add_event(error)});
    } catch (...) {
        // Building the Event failed (out of memory): the ADD's own error is what matters.
    }
}

void KubernetesSource::post_events(const config::MetaConf& conf, const cni::Request& request,
                                   const std::vector<k8s::EventSpec>& events) noexcept {
    if (events.empty() || pod_not_found_) {
        return;
    }
    try {
        const auto ref = plan::pod_ref_from_args(request.args);
        if (ref.name.empty()) {
            return;
        }
        auto* api = client(conf);
        if (api == nullptr) {
            return;  // no API access: no Events, as Multus
        }
        k8s::EventPod pod{ref.namespace_, ref.name, ref.uid};
        std::string node;
        if (pod_) {
            pod.uid = pod.uid.empty() ? pod_->uid : pod.uid;
            node = pod_->node_name;
        }
        if (node.empty()) {
            node = host_name();
        }
        std::size_t posted = 0;
        try {
            for (const auto& event : events) {
                const auto left =
                    kEventsTimeLimit -
                    std::chrono::duration_cast<std::chrono::milliseconds>(events_time_);
                const auto start = std::chrono::steady_clock::now();
                k8s::post_event(*api, pod, event, node,
                                std::max(left, std::chrono::milliseconds(0)));
                events_time_ += std::chrono::steady_clock::now() - start;
                ++posted;
            }
        } catch (const cni::Error& e) {
            spdlog::warn("Events about pod {}/{} not posted ({} of {} posted): {}", ref.namespace_,
                         ref.name, posted, events.size(), e.what());
        }
    } catch (const std::exception& e) {
        spdlog::warn("Events not posted: {}", e.what());
    }
}

std::unique_ptr<verbs::NetworkSource> make_network_source() {
    return std::make_unique<KubernetesSource>();
}

}  // namespace splitnet::app
