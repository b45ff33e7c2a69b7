#include "splitnet/agent/guard.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/k8s/annotation.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::agent {
namespace {

using nlohmann::json;

// The string at `key` of an object, "" when absent or not a string.
std::string string_at(const json& object, std::string_view key) {
    if (!object.is_object()) {
        return "";
    }
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& member(const json& object, std::string_view key) {
    static const json kNull;
    if (!object.is_object()) {
        return kNull;
    }
    const auto it = object.find(key);
    return it != object.end() ? *it : kNull;
}

bool any_container_running(const json& status) {
    for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
        const auto& statuses = member(status, list);
        if (!statuses.is_array()) {
            continue;
        }
        for (const auto& container : statuses) {
            if (member(member(container, "state"), "running").is_object()) {
                return true;
            }
        }
    }
    return false;
}

enum class StatusVerdict { NoSecondary, HasSecondary, Unreadable };

// Whether the network-status annotation lists a non-default attachment. The value is untrusted:
// parsed bounded. Something that is not a JSON list was written by somebody (maybe splitnet, by
// another version): Unreadable, and the guard leaves the pod alone.
StatusVerdict judge_network_status(std::string_view value) {
    if (util::trim(value).empty()) {
        return StatusVerdict::NoSecondary;
    }
    const auto doc =
        util::try_parse_json_bounded(value, {util::kMaxApiBodyBytes, util::kMaxJsonDepth});
    if (!doc || !doc->is_array()) {
        return StatusVerdict::Unreadable;
    }
    const bool secondary = std::ranges::any_of(*doc, [](const json& entry) {
        const auto& is_default = member(entry, "default");
        return entry.is_object() && !(is_default.is_boolean() && is_default.get<bool>());
    });
    return secondary ? StatusVerdict::HasSecondary : StatusVerdict::NoSecondary;
}

}  // namespace

std::optional<BypassedPod> bypassed_pod(const json& pod) {
    const auto& metadata = member(pod, "metadata");
    const auto& spec = member(pod, "spec");
    const auto& status = member(pod, "status");
    const auto& annotations = member(metadata, "annotations");
    const std::string requested = string_at(annotations, k8s::kNetworksAnnotation);
    if (util::trim(requested).empty()) {
        return std::nullopt;
    }
    const auto& host_network = member(spec, "hostNetwork");
    // A mirror pod (the API's copy of a static pod) comes back at once when deleted, while the
    // static pod itself, and its sandbox, stay: deleting it would only repeat every pass.
    const bool mirror = !member(annotations, kMirrorPodAnnotation).is_null();
    if (mirror || (host_network.is_boolean() && host_network.get<bool>()) ||
        !member(metadata, "deletionTimestamp").is_null() ||
        string_at(status, "phase") != "Running" || !any_container_running(status)) {
        return std::nullopt;
    }
    if (judge_network_status(string_at(annotations, k8s::kNetworkStatusAnnotation)) !=
        StatusVerdict::NoSecondary) {
        return std::nullopt;
    }
    BypassedPod out;
    out.pod.namespace_ = string_at(metadata, "namespace");
    out.pod.name = string_at(metadata, "name");
    out.pod.uid = string_at(metadata, "uid");
    if (!k8s::is_dns1123_label(out.pod.namespace_) || !k8s::is_dns1123_subdomain(out.pod.name) ||
        out.pod.uid.empty() || out.pod.uid.size() > 64) {
        return std::nullopt;
    }
    out.requested = util::clip(requested, 256);
    return out;
}

std::vector<BypassedPod> bypassed_pods(const json& pod_list) {
    std::vector<BypassedPod> out;
    const auto& items = member(pod_list, "items");
    if (string_at(pod_list, "kind") != "PodList" || !items.is_array()) {
        return out;
    }
    for (const auto& pod : items) {
        if (auto bypassed = bypassed_pod(pod)) {
            out.push_back(std::move(*bypassed));
        }
    }
    return out;
}

std::string url_encode(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        out += unreserved ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
    }
    return out;
}

std::string node_pods_path(std::string_view node, std::string_view continue_token) {
    std::string path = fmt::format("/api/v1/pods?fieldSelector={}&limit={}",
                                   url_encode(fmt::format("spec.nodeName={}", node)), kPodsPerPage);
    if (!continue_token.empty()) {
        path += "&continue=" + url_encode(continue_token);
    }
    return path;
}

std::string continue_token(const json& pod_list) {
    return string_at(member(pod_list, "metadata"), "continue");
}

json delete_options(std::string_view uid) {
    return {{"kind", "DeleteOptions"},
            {"apiVersion", "v1"},
            {"preconditions", {{"uid", std::string(uid)}}}};
}

}  // namespace splitnet::agent
