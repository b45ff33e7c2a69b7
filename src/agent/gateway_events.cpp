#include "splitnet/agent/gateway_events.hpp"

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/kubeconfig.hpp"

namespace splitnet::agent {

k8s::EventSpec gateway_event_spec(const GatewayEvent& event) {
    const bool down = event.transition == GatewayTransition::Unreachable;
    return {down ? k8s::EventType::Warning : k8s::EventType::Normal,
            std::string(down ? kGatewayUnreachableReason : kGatewayRecoveredReason),
            std::string(kProbeGatewayAction), event.message};
}

GatewayEventSink make_api_event_sink(cni::Getenv getenv, std::string service_account_dir,
                                     std::string node_name) {
    if (!k8s::in_cluster_available(getenv)) {
        return nullptr;
    }
    return [getenv = std::move(getenv), sa_dir = std::move(service_account_dir),
            node = std::move(node_name)](const std::vector<GatewayEvent>& events) {
        std::size_t failed = 0;
        std::string last_problem;
        try {
            // One client (one TLS connection) per round; its budget bounds the whole round.
            k8s::ApiOptions options;
            options.budget = kGatewayEventsBudget;
            k8s::ApiClient client(k8s::in_cluster_access(getenv, sa_dir), options);
            for (const auto& event : events) {
                const auto& pod = event.target.pod;
                if (pod.namespace_.empty() || pod.name.empty()) {
                    continue;  // not a Kubernetes pod (no K8S_POD_* in its CNI_ARGS)
                }
                try {
                    k8s::post_event(client, {pod.namespace_, pod.name, pod.uid},
                                    gateway_event_spec(event), node);
                } catch (const cni::Error& e) {
                    ++failed;
                    last_problem = e.what();
                }
            }
        } catch (const cni::Error& e) {
            failed = events.size();
            last_problem = e.what();
        }
        if (failed > 0) {
            spdlog::warn("gateway watch: {} of {} Event(s) not posted: {}", failed, events.size(),
                         last_problem);
        }
    };
}

}  // namespace splitnet::agent
