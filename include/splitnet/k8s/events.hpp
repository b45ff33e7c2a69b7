#pragma once

// Kubernetes Events (core/v1) about a pod, as `kubectl describe pod` shows them. The plugin
// (AddedInterface after ADD) and the node agent both post them through an ApiClient.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/network_status.hpp"

namespace splitnet::k8s {

class ApiClient;

enum class EventType { Normal, Warning };

/// The pod an Event is about (involvedObject). Namespace and name must be valid Kubernetes
/// names (post_event checks them); the UID may be empty when unknown.
struct EventPod {
    std::string namespace_;
    std::string name;
    std::string uid;
};

/// What happened. `reason` and `action` are splitnet's own constants (CamelCase, as Kubernetes
/// reasons are); `message` may carry untrusted text (network names, error text): the builder makes
/// it valid UTF-8 and clips it to what the API server accepts.
struct EventSpec {
    EventType type = EventType::Normal;
    std::string reason;
    std::string action;
    std::string message;
};

/// source.component and reportingComponent of every Event splitnet posts.
inline constexpr std::string_view kEventComponent = "splitnet";
/// The API server refuses a longer message (validation NoteLengthLimit, in bytes).
inline constexpr std::size_t kMaxEventMessageBytes = 1024;
/// The API server refuses a longer reportingInstance, action or reason.
inline constexpr std::size_t kMaxEventFieldBytes = 128;
/// A Kubernetes object name (DNS-1123 subdomain) has at most this many bytes.
inline constexpr std::size_t kMaxObjectNameBytes = 253;

/// "Normal" or "Warning".
std::string_view event_type_name(EventType type);

/// client-go's Event name: "<pod>.<Unix nanoseconds in hex>", with the pod part shortened when
/// the whole would exceed kMaxObjectNameBytes (a name may not end in '.' or '-').
std::string event_name(std::string_view pod_name, std::chrono::system_clock::time_point when);

/// `message` as valid UTF-8 (invalid bytes become U+FFFD, as dump_json does), clipped with
/// util::clip so that the result has at most kMaxEventMessageBytes bytes.
std::string event_message(std::string_view message);

/// The core/v1 Event body: involvedObject (the pod), reason, message, type, action, source and
/// reportingComponent "splitnet", reportingInstance and source.host = `node_name` (clipped to
/// kMaxEventFieldBytes), firstTimestamp = lastTimestamp (seconds) and eventTime (microseconds) =
/// `when`, count 1, metadata.name = event_name(pod.name, when) in the pod's namespace. Pure.
nlohmann::json event_body(const EventPod& pod, const EventSpec& spec, std::string_view node_name,
                          std::chrono::system_clock::time_point when);

/// "/api/v1/namespaces/{ns}/events"; `ns` must already be a valid DNS-1123 label.
std::string events_path(std::string_view ns);

/// The time for the next Event of this process: now, but always later than the previous one, so
/// that event_name never repeats within a process even when two Events follow within the clock's
/// resolution.
std::chrono::system_clock::time_point next_event_time();

/// POSTs one Event about `pod` to /api/v1/namespaces/{ns}/events over `client`'s connection (the
/// same keep-alive TLS connection as every other call of the client). Spends at most `within`
/// (and never more than the client's budget left); nullopt: the client's budget alone. Throws
/// cni::Error when the Event was not created (invalid pod reference, HTTP status other than
/// 201/200, transport failure, timeout): Events are best effort, so callers log that and go on.
void post_event(ApiClient& client, const EventPod& pod, const EventSpec& spec,
                std::string_view node_name,
                std::optional<std::chrono::milliseconds> within = std::nullopt);

// ---- The plugin's Events ----

/// Reason of the Normal Event per attachment after a successful ADD (Multus' reason).
inline constexpr std::string_view kAddedInterfaceReason = "AddedInterface";
/// Reason of the one Warning Event after a failed ADD.
inline constexpr std::string_view kFailedAddInterfaceReason = "FailedAddInterface";
/// action of both: the CNI verb.
inline constexpr std::string_view kAddAction = "ADD";

/// Multus' AddedInterface message (pkg/multus/multus.go DelegateAdd, v4.3.0):
/// "Add <ifname> [<ip/prefix> ...] from <network>" ("Add <ifname> [...]" when the network has
/// no name), the addresses as Go prints a net.IPNet, space separated as %v prints a []string.
std::string added_interface_message(std::string_view ifname,
                                    const std::vector<std::string>& addresses,
                                    std::string_view network);

/// One AddedInterface Event per attachment in plan order, for those whose result has interfaces
/// or IPs (Multus skips empty results). Addresses come from the attachment's own result (any CNI
/// version). Throws Error(DecodingFailure) for a result that is not a CNI result.
std::vector<EventSpec> added_interface_events(const std::vector<AttachmentStatus>& attachments);

/// The Warning Event of a failed ADD: the error's message (which names the network when one was
/// being added) and its details, as the runtime's CNI error has them.
EventSpec failed_add_event(const cni::Error& error);

}  // namespace splitnet::k8s
