#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/network_status.hpp"
#include "splitnet/k8s/pod_source.hpp"

namespace splitnet::k8s {
namespace {

// client-go retry.DefaultRetry: 5 steps.
constexpr int kConflictAttempts = 5;

}  // namespace

void write_network_status(ApiClient& client, const plan::PodRef& ref, const std::string& value) {
    if (value == "[]") {
        spdlog::debug("no network-status entry for {}/{}, nothing to write", ref.namespace_,
                      ref.name);
        return;
    }
    if (!is_dns1123_label(ref.namespace_) || !is_dns1123_subdomain(ref.name)) {
        throw cni::Error(cni::ErrorCode::InvalidEnvironment, "cannot write network-status: \"" +
                                                                 ref.namespace_ + "/" + ref.name +
                                                                 "\" is not a valid pod reference");
    }
    const std::string who = ref.namespace_ + "/" + ref.name;
    for (int attempt = 1; attempt <= kConflictAttempts; ++attempt) {
        auto got = client.get(pod_path(ref.namespace_, ref.name));
        if (got.status == 404) {
            spdlog::warn("network-status not written: pod {} was deleted ({})", who,
                         status_message(got));
            return;
        }
        if (got.status != 200 || !got.body.is_object()) {
            throw cni::Error(cni::ErrorCode::TryAgainLater,
                             "SetPodNetworkStatusAnnotation: failed to query the pod " + who +
                                 ": " + status_message(got));
        }
        auto& pod = got.body;
        auto& metadata = pod["metadata"];
        if (!metadata.is_object()) {
            metadata = nlohmann::json::object();
        }
        const auto uid = metadata.value("uid", std::string());
        auto& annotations = metadata["annotations"];
        if (!annotations.is_object()) {
            annotations = nlohmann::json::object();
        }
        if (!ref.uid.empty() && uid != ref.uid && !is_static_pod(annotations)) {
            throw cni::Error(
                cni::ErrorCode::Other,
                fmt::format(
                    R"(SetNetworkStatus: expected pod {} UID "{}" but got "{}" from Kube API)", who,
                    ref.uid, uid));
        }
        annotations[std::string(kNetworkStatusAnnotation)] = value;
        const auto put = client.put(pod_status_path(ref.namespace_, ref.name), pod);
        if (put.status == 200 || put.status == 201) {
            return;
        }
        if (put.status == 404) {
            spdlog::warn("network-status not written: pod {} was deleted ({})", who,
                         status_message(put));
            return;
        }
        if (put.status != 409) {
            throw cni::Error(cni::ErrorCode::TryAgainLater,
                             "status update failed for pod " + who + ": " + status_message(put));
        }
        spdlog::debug("network-status update of {} conflicted (attempt {}), retrying", who,
                      attempt);
    }
    throw cni::Error(cni::ErrorCode::TryAgainLater,
                     "status update failed for pod " + who + ": still conflicting after " +
                         std::to_string(kConflictAttempts) + " attempts");
}

}  // namespace splitnet::k8s
