#include "splitnet/k8s/annotation.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/go_json.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::k8s {
namespace {

using Json = nlohmann::ordered_json;
using util::split;
using util::trim;

constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1

constexpr std::string_view kJsonFormPrefix =
    "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation JSON "
    "format";

// ---- comma form ----------------------------------------------------------------------------

plan::Selection parse_object_name(std::string_view item) {
    constexpr std::string_view kPrefix = "parsePodNetworkAnnotation: parsePodNetworkObjectName: ";
    plan::Selection sel;
    const auto slash = split(item, '/');
    std::string name_part;
    if (slash.size() == 2) {
        sel.namespace_ = trim(slash[0]);
        name_part = slash[1];
    } else if (slash.size() == 1) {
        name_part = slash[0];
    } else {
        cni::fail_config(std::string(kPrefix) + "Invalid network object (failed at '/')");
    }
    const auto at = split(name_part, '@');
    sel.name = trim(at[0]);
    if (at.size() == 2) {
        sel.interface = trim(at[1]);
    } else if (at.size() != 1) {
        cni::fail_config(std::string(kPrefix) + "Invalid network object (failed at '@')");
    }
    for (const auto* item_part : {&sel.namespace_, &sel.name}) {
        if (!item_part->empty() && !is_dns1123_label(*item_part)) {
            cni::fail_config(
                std::string(kPrefix) +
                "Failed to parse: one or more items did not match comma-delimited format (must "
                "consist of lower case alphanumeric characters). Must start and end with an "
                "alphanumeric character), mismatch @ '" +
                *item_part + "'");
        }
    }
    if (!sel.interface.empty() &&
        (sel.interface.size() > kIfNameMax ||
         sel.interface.find_first_of(" \t\n\v\f\r/") != std::string::npos)) {
        cni::fail_config(
            std::string(kPrefix) +
            "Failed to parse interface name: must be less than 15 chars and not contain '/' or "
            "spaces. interface name '" +
            sel.interface + "'");
    }
    return sel;
}

// ---- JSON form -----------------------------------------------------------------------------

std::string json_kind(const Json& v) {
    if (v.is_number()) {
        return "number";
    }
    if (v.is_string()) {
        return "string";
    }
    if (v.is_boolean()) {
        return "bool";
    }
    if (v.is_array()) {
        return "array";
    }
    return "object";
}

[[noreturn]] void type_error(const Json& v, const std::string& field, const std::string& go_type) {
    cni::fail_config(
        "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection Annotation "
        "JSON format: json: cannot unmarshal " +
        json_kind(v) + " into Go struct field NetworkSelectionElement." + field + " of type " +
        go_type);
}

std::string as_string(const Json& v, const std::string& field) {
    auto text = util::json_string(v);
    if (!text) {
        type_error(v, field, "string");
    }
    return std::move(*text);
}

std::int64_t as_int(const Json& v, const std::string& field) {
    const auto number = util::json_integer(v, INT64_MIN, INT64_MAX, util::IntegralFloats::Accept);
    if (!number) {
        type_error(v, field, "int");
    }
    return *number;
}

std::vector<std::string> as_string_list(const Json& v, const std::string& field) {
    if (!v.is_array()) {
        type_error(v, field, "[]string");
    }
    std::vector<std::string> out;
    for (const auto& item : v) {
        out.push_back(as_string(item, field));
    }
    return out;
}

/// The same value with std::map objects (sorted keys, as Go's maps re-encode). A conversion, not a
/// dump and re-parse: the value already passed the parser's limits.
nlohmann::json plain_json(const Json& v) {
    // Not `return {v};`: braces would make a one-element array (nlohmann's initializer list).
    return nlohmann::json(v);  // NOLINT(modernize-return-braced-init-list)
}

/// Re-encodes like Multus does after decoding into its Go structs: unknown keys dropped, Go's
/// case-insensitive field match, omitempty for protocol/hostIP.
nlohmann::json port_mappings(const Json& v) {
    if (!v.is_array()) {
        type_error(v, "portMappings", "[]*types.PortMapEntry");
    }
    auto out = nlohmann::json::array();
    for (const auto& entry : v) {
        if (entry.is_null()) {
            out.push_back(nullptr);
            continue;
        }
        if (!entry.is_object()) {
            type_error(entry, "portMappings", "types.PortMapEntry");
        }
        const nlohmann::json plain = plain_json(entry);
        nlohmann::json item = {{"hostPort", 0}, {"containerPort", 0}};
        if (const auto* p = util::find_key_go(plain, "hostPort"); p != nullptr && !p->is_null()) {
            item["hostPort"] = as_int(Json(*p), "portMappings.hostPort");
        }
        if (const auto* p = util::find_key_go(plain, "containerPort");
            p != nullptr && !p->is_null()) {
            item["containerPort"] = as_int(Json(*p), "portMappings.containerPort");
        }
        for (const char* key : {"protocol", "hostIP"}) {
            if (const auto* p = util::find_key_go(plain, key); p != nullptr && !p->is_null()) {
                auto text = as_string(Json(*p), std::string("portMappings.") + key);
                if (!text.empty()) {
                    item[key] = text;
                }
            }
        }
        out.push_back(std::move(item));
    }
    return out;
}

nlohmann::json bandwidth(const Json& v) {
    if (!v.is_object()) {
        type_error(v, "bandwidth", "types.BandwidthEntry");
    }
    const nlohmann::json plain = plain_json(v);
    nlohmann::json out = nlohmann::json::object();
    for (const char* key : {"ingressRate", "ingressBurst", "egressRate", "egressBurst"}) {
        out[key] = 0;
        if (const auto* p = util::find_key_go(plain, key); p != nullptr && !p->is_null()) {
            out[key] = as_int(Json(*p), std::string("bandwidth.") + key);
        }
    }
    return out;
}

// The implicit moves are noexcept; bugprone-exception-escape follows nlohmann::json internals.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct ElementParser {
    plan::Selection sel;
    std::string deprecated_interface;

    using Setter = std::function<void(ElementParser&, const Json&)>;

    static const std::vector<std::pair<std::string_view, Setter>>& fields() {
        static const std::vector<std::pair<std::string_view, Setter>> kFields = {
            {"name", [](ElementParser& p, const Json& v) { p.sel.name = as_string(v, "name"); }},
            {"namespace",
             [](ElementParser& p, const Json& v) { p.sel.namespace_ = as_string(v, "namespace"); }},
            {"ips", [](ElementParser& p, const Json& v) { p.sel.ips = as_string_list(v, "ips"); }},
            {"mac", [](ElementParser& p, const Json& v) { p.sel.mac = as_string(v, "mac"); }},
            {"infiniband-guid",
             [](ElementParser& p, const Json& v) {
                 p.sel.infiniband_guid = as_string(v, "infiniband-guid");
             }},
            {"interface",
             [](ElementParser& p, const Json& v) { p.sel.interface = as_string(v, "interface"); }},
            {"interfaceRequest",
             [](ElementParser& p, const Json& v) {
                 p.deprecated_interface = as_string(v, "interfaceRequest");
             }},
            {"portMappings",
             [](ElementParser& p, const Json& v) { p.sel.port_mappings = port_mappings(v); }},
            {"bandwidth", [](ElementParser& p, const Json& v) { p.sel.bandwidth = bandwidth(v); }},
            {"deviceID",
             [](ElementParser& p, const Json& v) { p.sel.device_id = as_string(v, "deviceID"); }},
            {"cni-args",
             [](ElementParser& p, const Json& v) {
                 if (!v.is_object()) {
                     type_error(v, "cni-args", "map[string]interface {}");
                 }
                 p.sel.cni_args = plain_json(v);
             }},
            {"default-route",
             [](ElementParser& p, const Json& v) {
                 if (!v.is_array()) {
                     type_error(v, "default-route", "[]net.IP");
                 }
                 std::vector<std::string> gateways;
                 for (const auto& gw : v) {
                     if (gw.is_null()) {
                         continue;
                     }
                     const auto text = as_string(gw, "default-route");
                     const auto ip = net::parse_ip(text);
                     if (!ip) {
                         cni::fail_config(
                             "parsePodNetworkAnnotation: failed to parse pod Network Attachment "
                             "Selection Annotation JSON format: invalid IP address: " +
                             text);
                     }
                     gateways.push_back(net::to_string(*ip));
                 }
                 p.sel.default_route = std::move(gateways);
             }},
        };
        return kFields;
    }

    static const Setter* find(std::string_view key) {
        for (const auto& [name, setter] : fields()) {
            if (name == key) {
                return &setter;
            }
        }
        const Setter* folded = nullptr;
        for (const auto& [name, setter] : fields()) {
            if (name.size() == key.size() &&
                std::equal(name.begin(), name.end(), key.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                })) {
                folded = &setter;
            }
        }
        return folded;
    }
};

std::vector<plan::Selection> parse_json_form(std::string_view value, bool strict) {
    const auto doc = util::parse_json_bounded<Json>(
        value, kJsonFormPrefix, {util::kMaxAnnotationBytes, util::kMaxJsonDepth},
        cni::ErrorCode::InvalidNetworkConfig);
    if (doc.is_null()) {
        return {};
    }
    if (!doc.is_array()) {
        cni::fail_config(
            "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection "
            "Annotation JSON format: json: cannot unmarshal " +
            json_kind(doc) + " into Go value of type []*types.NetworkSelectionElement");
    }
    std::vector<plan::Selection> out;
    for (std::size_t index = 0; index < doc.size(); ++index) {
        const auto& element = doc[index];
        if (!element.is_object()) {
            cni::fail_config(
                "parsePodNetworkAnnotation: failed to parse pod Network Attachment Selection "
                "Annotation JSON format: json: cannot unmarshal " +
                json_kind(element) + " into Go value of type types.NetworkSelectionElement");
        }
        ElementParser parser;
        for (const auto& [key, item] : element.items()) {  // document order: later wins, as Go
            const auto* setter = ElementParser::find(key);
            if (setter == nullptr) {
                const std::string msg =
                    "annotation " + std::string(kNetworksAnnotation) + ": element " +
                    std::to_string(index) + " has unknown key \"" + key + "\"" +
                    (key == "ipam-claim-reference" ? " (not supported, not forwarded)" : "") +
                    (key == "gateway" ? " (did you mean \"default-route\"?)" : "");
                if (strict) {
                    cni::fail_config(msg + "; strict annotations are enabled");
                }
                spdlog::warn("{}; ignored as Multus does", msg);
                continue;
            }
            if (!item.is_null()) {
                (*setter)(parser, item);
            }
        }
        if (parser.sel.interface.empty()) {
            parser.sel.interface = parser.deprecated_interface;
        }
        out.push_back(std::move(parser.sel));
    }
    return out;
}

void validate(plan::Selection& sel, std::string_view default_namespace) {
    if (sel.namespace_.empty()) {
        sel.namespace_ = std::string(default_namespace);
    }
    if (!sel.mac.empty() && !util::is_go_mac(sel.mac)) {
        cni::fail_config("parsePodNetworkAnnotation: failed to mac: address " + sel.mac +
                         ": invalid MAC address");
    }
    if (!sel.infiniband_guid.empty() && !util::is_go_mac(sel.infiniband_guid)) {
        cni::fail_config("parsePodNetworkAnnotation: failed to validate infiniband GUID: address " +
                         sel.infiniband_guid + ": invalid MAC address");
    }
    for (const auto& ip : sel.ips) {
        if (ip.find('/') != std::string::npos) {
            if (!net::parse_cidr(ip)) {
                cni::fail_config(
                    fmt::format(R"(failed to parse CIDR "{}": invalid CIDR address: {})", ip, ip));
            }
        } else if (!net::parse_ip(ip)) {
            cni::fail_config("failed to parse IP address \"" + ip + "\"");
        }
    }
}

}  // namespace

bool is_dns1123_label(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(text.front()) || !alnum(text.back())) {
        return false;
    }
    return std::all_of(text.begin(), text.end(), [&](char c) { return alnum(c) || c == '-'; });
}

bool is_dns1123_subdomain(std::string_view text) {
    if (text.empty() || text.size() > 253) {
        return false;
    }
    const auto labels = split(text, '.');
    return std::all_of(labels.begin(), labels.end(),
                       [](const auto& label) { return is_dns1123_label(label); });
}

std::vector<plan::Selection> parse_network_selection(std::string_view value,
                                                     std::string_view default_namespace,
                                                     bool strict) {
    if (value.empty()) {
        cni::fail_config(
            "parsePodNetworkAnnotation: pod annotation does not have \"network\" as key");
    }
    if (value.size() > util::kMaxAnnotationBytes) {
        cni::fail_config(fmt::format(
            "parsePodNetworkAnnotation: the annotation is {} bytes long, more than Kubernetes "
            "allows for all annotations of a pod together ({} bytes)",
            value.size(), util::kMaxAnnotationBytes));
    }
    std::vector<plan::Selection> out;
    if (value.find_first_of("[{\"") != std::string_view::npos) {
        out = parse_json_form(value, strict);
    } else {
        for (const auto& item : split(value, ',')) {
            out.push_back(parse_object_name(trim(item)));
        }
    }
    for (auto& sel : out) {
        validate(sel, default_namespace);
    }
    return out;
}

}  // namespace splitnet::k8s
