#include "splitnet/agent/api_duties.hpp"

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/agent/guard.hpp"
#include "splitnet/agent/taint.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/events.hpp"
#include "splitnet/k8s/kubeconfig.hpp"

namespace splitnet::agent {
namespace {

// Bound on the API calls of one tick (a fresh client per tick: ApiClient's budget is for the
// whole life of the client).
constexpr std::chrono::seconds kTickBudget{20};
// A node runs at most a few hundred pods; this bounds the pages read per guard pass.
constexpr int kMaxPages = 50;

bool is_success(unsigned status) {
    return status >= 200 && status < 300;
}

}  // namespace

ApiDuties::ApiDuties(ApiDutiesOptions options, cni::Getenv getenv)
    : options_(std::move(options)), getenv_(std::move(getenv)) {
    if (!options_.guard_bypassed_pods && options_.remove_taint.empty()) {
        return;
    }
    node_ = getenv_("NODE_NAME").value_or("");
    if (node_.empty() || !k8s::is_dns1123_subdomain(node_)) {
        spdlog::warn(
            "node agent: env NODE_NAME is {} (set it from the downward API, spec.nodeName): the "
            "bypassed-pod guard and --remove-taint are off",
            node_.empty() ? std::string("not set") : fmt::format("\"{}\", not a node name", node_));
        return;
    }
    if (!k8s::in_cluster_available(getenv_)) {
        spdlog::warn(
            "node agent: KUBERNETES_SERVICE_HOST/PORT are not set: the bypassed-pod guard and "
            "--remove-taint are off");
        return;
    }
    active_ = true;
    spdlog::info("node agent for node {}: bypassed-pod guard {}, taint to remove: {}", node_,
                 options_.guard_bypassed_pods ? "on" : "off",
                 options_.remove_taint.empty() ? std::string("none") : options_.remove_taint);
}

ApiDuties::~ApiDuties() = default;

std::unique_ptr<k8s::ApiClient> ApiDuties::connect() {
    k8s::ApiOptions api;
    api.budget = kTickBudget;
    return std::make_unique<k8s::ApiClient>(
        k8s::in_cluster_access(getenv_, options_.service_account_dir), api);
}

void ApiDuties::report(const std::string& problem) {
    if (problem != last_problem_) {
        spdlog::error("node agent: {} (retrying)", problem);
        last_problem_ = problem;
    }
}

void ApiDuties::tick(bool configured, bool writes_status) {
    if (!active_ || !configured) {
        return;
    }
    if (options_.guard_bypassed_pods && !writes_status && !told_no_status_) {
        spdlog::warn(
            "node agent: the node config names no kubeconfig, so splitnet writes no "
            "network-status and every pod that asks for a network would look bypassed: the "
            "bypassed-pod guard is off until it names one");
        told_no_status_ = true;
    }
    if (writes_status) {
        told_no_status_ = false;
    }
    const bool guard_now = options_.guard_bypassed_pods && writes_status &&
                           ticks_++ % std::max(options_.guard_every_ticks, 1U) == 0;
    const bool taint_now = !options_.remove_taint.empty() && !taint_done_;
    if (!guard_now && !taint_now) {
        return;
    }
    try {
        auto client = connect();
        if (taint_now) {
            remove_taint(*client);
        }
        if (guard_now) {
            guard(*client);
        }
        last_problem_.clear();
    } catch (const cni::Error& e) {
        report(e.what());
    }
}

void ApiDuties::remove_taint(k8s::ApiClient& client) {
    const auto path = node_path(node_);
    const auto node = client.get(path);
    if (!is_success(node.status)) {
        throw cni::Error(cni::ErrorCode::Other,
                         fmt::format("cannot read node {} to remove taint {}: {}", node_,
                                     options_.remove_taint, k8s::status_message(node)));
    }
    const auto patch = remove_taint_patch(node.body, options_.remove_taint);
    if (!patch) {
        spdlog::info("node agent: node {} has no taint {}", node_, options_.remove_taint);
        taint_done_ = true;
        return;
    }
    const auto patched = client.json_patch(path, *patch);
    if (!is_success(patched.status)) {
        // 409/422: the taints changed since the read (the test op failed); the next tick reads
        // them again.
        throw cni::Error(cni::ErrorCode::Other,
                         fmt::format("removing taint {} from node {} was refused (HTTP {}): {}",
                                     options_.remove_taint, node_, patched.status,
                                     k8s::status_message(patched)));
    }
    spdlog::info("node agent: removed taint {} from node {}", options_.remove_taint, node_);
    taint_done_ = true;
}

void ApiDuties::guard(k8s::ApiClient& client) {
    std::string token;
    for (int page = 0; page < kMaxPages; ++page) {
        const auto list = client.get(node_pods_path(node_, token));
        if (!is_success(list.status)) {
            throw cni::Error(cni::ErrorCode::Other,
                             fmt::format("cannot list the pods of node {}: {}", node_,
                                         k8s::status_message(list)));
        }
        for (const auto& bypassed : bypassed_pods(list.body)) {
            const auto& pod = bypassed.pod;
            const auto who = fmt::format("{}/{} (uid {})", pod.namespace_, pod.name, pod.uid);
            // Recorded before the delete, while the pod still exists to carry it.
            k8s::EventSpec event;
            event.type = k8s::EventType::Warning;
            event.reason = std::string(kBypassedReason);
            event.action = "DeletePod";
            event.message = fmt::format(
                "splitnet deletes this pod: it requests networks ({}) but was started without "
                "splitnet (no network-status; was the node's CNI config missing?), so its "
                "traffic may bypass them. Its controller recreates it through splitnet.",
                bypassed.requested);
            try {
                k8s::post_event(client, {pod.namespace_, pod.name, pod.uid}, event, node_,
                                std::chrono::seconds(2));
            } catch (const cni::Error& e) {
                spdlog::warn("node agent: event for {} not recorded: {}", who, e.what());
            }
            const auto deleted =
                client.del(k8s::pod_path(pod.namespace_, pod.name), delete_options(pod.uid));
            if (is_success(deleted.status)) {
                spdlog::warn("node agent: deleted pod {}: started without splitnet ({} requested)",
                             who, bypassed.requested);
            } else if (deleted.status == 404 || deleted.status == 409) {
                // Gone, or another pod of the same name now (the uid precondition held).
                spdlog::info("node agent: pod {} not deleted: {}", who,
                             k8s::status_message(deleted));
            } else {
                report(fmt::format("cannot delete pod {}: {}", who, k8s::status_message(deleted)));
            }
        }
        token = continue_token(list.body);
        if (token.empty()) {
            return;
        }
    }
    spdlog::warn(
        "node agent: node {} lists more than {} pages of pods; the rest waits for the "
        "next pass",
        node_, kMaxPages);
}

}  // namespace splitnet::agent
