#include "splitnet/k8s/events.hpp"

#include <atomic>
#include <cstdint>
#include <ctime>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::k8s {
namespace {

using std::chrono::system_clock;

// Longest suffix util::clip appends: "... (" + 20 digits + " bytes)".
constexpr std::size_t kClipSuffixBytes = 32;

std::int64_t unix_nanos(system_clock::time_point when) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
}

// RFC 3339 in UTC, as metav1.Time ("2006-01-02T15:04:05Z") or, with `micros`, as metav1.MicroTime
// ("2006-01-02T15:04:05.000000Z").
std::string event_timestamp(system_clock::time_point when, bool micros) {
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch());
    auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const auto fraction = (since_epoch - seconds).count();
    const std::time_t t = static_cast<std::time_t>(seconds.count());
    std::tm utc{};
    gmtime_r(&t, &utc);
    auto text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", utc.tm_year + 1900,
                            utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    if (micros) {
        text += fmt::format(".{:06}", fraction);
    }
    return text + "Z";
}

}  // namespace

std::string_view event_type_name(EventType type) {
    return type == EventType::Warning ? "Warning" : "Normal";
}

std::string event_name(std::string_view pod_name, system_clock::time_point when) {
    const auto suffix = fmt::format(".{:x}", static_cast<std::uint64_t>(unix_nanos(when)));
    auto prefix = pod_name.substr(0, kMaxObjectNameBytes - suffix.size());
    // A DNS-1123 subdomain ends in an alphanumeric character; so does what precedes the '.'.
    while (!prefix.empty() && (prefix.back() == '.' || prefix.back() == '-')) {
        prefix.remove_suffix(1);
    }
    return std::string(prefix) + suffix;
}

std::string event_message(std::string_view message) {
    // Made valid first: U+FFFD takes three bytes where the invalid byte took one.
    const auto valid = util::valid_utf8(message);
    return util::clip(valid, kMaxEventMessageBytes - kClipSuffixBytes);
}

nlohmann::json event_body(const EventPod& pod, const EventSpec& spec, std::string_view node_name,
                          system_clock::time_point when) {
    const auto instance =
        std::string(util::utf8_prefix(util::valid_utf8(node_name), kMaxEventFieldBytes));
    const auto seconds = event_timestamp(when, /*micros=*/false);
    nlohmann::json involved = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"namespace", pod.namespace_},
        {"name", pod.name},
    };
    if (!pod.uid.empty()) {
        involved["uid"] = pod.uid;
    }
    nlohmann::json source = {{"component", kEventComponent}};
    if (!instance.empty()) {
        source["host"] = instance;
    }
    return {
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", {{"name", event_name(pod.name, when)}, {"namespace", pod.namespace_}}},
        {"involvedObject", std::move(involved)},
        {"reason", spec.reason},
        {"message", event_message(spec.message)},
        {"type", event_type_name(spec.type)},
        {"action", spec.action},
        {"source", std::move(source)},
        {"reportingComponent", kEventComponent},
        {"reportingInstance", instance},
        {"firstTimestamp", seconds},
        {"lastTimestamp", seconds},
        {"eventTime", event_timestamp(when, /*micros=*/true)},
        {"count", 1},
    };
}

std::string events_path(std::string_view ns) {
    return "/api/v1/namespaces/" + std::string(ns) + "/events";
}

system_clock::time_point next_event_time() {
    static std::atomic<std::int64_t> last{0};
    auto now = unix_nanos(system_clock::now());
    auto previous = last.load();
    do {
        now = std::max(now, previous + 1);
    } while (!last.compare_exchange_weak(previous, now));
    return system_clock::time_point(
        std::chrono::duration_cast<system_clock::duration>(std::chrono::nanoseconds(now)));
}

void post_event(ApiClient& client, const EventPod& pod, const EventSpec& spec,
                std::string_view node_name, std::optional<std::chrono::milliseconds> within) {
    if (!is_dns1123_label(pod.namespace_) || !is_dns1123_subdomain(pod.name)) {
        throw cni::Error(cni::ErrorCode::InvalidEnvironment, "cannot post an Event: \"" +
                                                                 pod.namespace_ + "/" + pod.name +
                                                                 "\" is not a valid pod reference");
    }
    const auto body = event_body(pod, spec, node_name, next_event_time());
    const auto response = client.post(events_path(pod.namespace_), body, within);
    if (response.status != 201 && response.status != 200) {
        throw cni::Error(cni::ErrorCode::TryAgainLater,
                         fmt::format("Event {} about pod {}/{} not created: {}", spec.reason,
                                     pod.namespace_, pod.name, status_message(response)));
    }
}

std::string added_interface_message(std::string_view ifname,
                                    const std::vector<std::string>& addresses,
                                    std::string_view network) {
    auto text = fmt::format("Add {} [{}]", ifname, fmt::join(addresses, " "));
    if (!network.empty()) {
        text += fmt::format(" from {}", network);
    }
    return text;
}

std::vector<EventSpec> added_interface_events(const std::vector<AttachmentStatus>& attachments) {
    std::vector<EventSpec> events;
    for (const auto& attachment : attachments) {
        if (attachment.result.is_null()) {
            continue;
        }
        const auto result = cni::parse_result(attachment.result, "1.0.0");
        if (result.interfaces.empty() && result.ips.empty()) {
            continue;
        }
        std::vector<std::string> addresses;
        for (const auto& ip : result.ips) {
            // Go prints the parsed net.IPNet: canonical address, host bits kept.
            const auto parsed = net::parse_cidr(ip.address);
            addresses.push_back(parsed ? net::to_string(*parsed) : ip.address);
        }
        events.push_back(
            {EventType::Normal, std::string(kAddedInterfaceReason), std::string(kAddAction),
             added_interface_message(attachment.ifname, addresses, attachment.network)});
    }
    return events;
}

EventSpec failed_add_event(const cni::Error& error) {
    std::string message = error.what();
    if (!error.details().empty()) {
        message += ": " + error.details();
    }
    return {EventType::Warning, std::string(kFailedAddInterfaceReason), std::string(kAddAction),
            std::move(message)};
}

}  // namespace splitnet::k8s
