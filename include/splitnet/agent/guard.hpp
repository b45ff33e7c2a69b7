#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitnet::agent {

/// A pod the guard acts on, named as the API returned it (names already checked as DNS-1123,
/// so they are safe in a REST path).
struct PodIdentity {
    std::string namespace_;
    std::string name;
    std::string uid;
};

/// Why a pod counts as set up without splitnet, for the log and the Event.
struct BypassedPod {
    PodIdentity pod;
    std::string requested;  ///< the k8s.v1.cni.cncf.io/networks value (clipped)
};

/// Pure: whether one pod of the node's pod list was started without splitnet. All of:
/// - it asks for networks (a non-empty k8s.v1.cni.cncf.io/networks annotation) and is not
///   hostNetwork, not a mirror pod (a static pod's), not being deleted, in phase Running;
/// - at least one of its containers is running: the kubelet starts containers only after the
///   sandbox's CNI ADD returned, and stops them all before it sets up a new sandbox, so the
///   current sandbox's ADD has finished (an ADD still in progress never qualifies);
/// - its k8s.v1.cni.cncf.io/network-status annotation has no entry for a secondary network:
///   splitnet's ADD writes it (pods/status) before it returns, and fails when it cannot, so a
///   pod whose containers run after a splitnet ADD always has it.
/// A pod without a name, namespace or uid, or with a name that is not DNS-1123, is skipped.
std::optional<BypassedPod> bypassed_pod(const nlohmann::json& pod);

/// Pure: the bypassed pods among a PodList's items (anything not a PodList gives none).
std::vector<BypassedPod> bypassed_pods(const nlohmann::json& pod_list);

/// GET path of one page of this node's pods (fieldSelector=spec.nodeName=<node>), `limit` per
/// page, `continue_token` (from the previous page; percent-encoded here) when not empty.
std::string node_pods_path(std::string_view node, std::string_view continue_token);

/// The continue token of a PodList page ("" on the last page).
std::string continue_token(const nlohmann::json& pod_list);

/// The DeleteOptions body: preconditions.uid, so that a pod recreated under the same name in
/// the meantime (a StatefulSet's) is never the one deleted.
nlohmann::json delete_options(std::string_view uid);

/// Pure: Percent-encodes everything but RFC 3986 unreserved characters (query values).
std::string url_encode(std::string_view text);

inline constexpr std::string_view kBypassedReason = "SplitnetBypassed";
/// Set by the kubelet on the API's copy of a static pod.
inline constexpr std::string_view kMirrorPodAnnotation = "kubernetes.io/config.mirror";
inline constexpr int kPodsPerPage = 100;

}  // namespace splitnet::agent
