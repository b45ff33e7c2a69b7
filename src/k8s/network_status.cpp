#include "splitnet/k8s/network_status.hpp"

#include <map>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/pod_source.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/go_json.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::k8s {
namespace {

struct Dns {
    std::vector<std::string> nameservers;
    std::string domain;
    std::vector<std::string> search;
    std::vector<std::string> options;
};

struct Status {
    std::string name;
    std::string interface;
    std::vector<std::string> ips;
    std::string mac;
    long long mtu = 0;
    bool is_default = false;
    Dns dns;
    std::vector<std::string> gateway;
};

struct ResultInterface {
    std::string name;
    std::string mac;
    long long mtu = 0;
    std::string sandbox;
};

struct ResultIp {
    std::string ip;  ///< Go IP.String() of the address
    bool has_gateway = false;
    std::optional<long long> interface;
};

/// The subset of cni100.Result that network-status reads, after NewResultFromResult.
struct Current {
    std::vector<ResultInterface> interfaces;
    std::vector<ResultIp> ips;
    std::vector<std::string> default_gateways;
    Dns dns;
};

[[noreturn]] void bad_result(const std::string& network, const std::string& why) {
    throw cni::Error(cni::ErrorCode::DecodingFailure,
                     "error converting the type.Result to cni100.Result for network-status of \"" +
                         network + "\": " + why);
}

std::string str(const nlohmann::json& obj, const char* key) {
    const auto* v = util::find_key_go(obj, key);
    return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

std::vector<std::string> str_list(const nlohmann::json& obj, const char* key) {
    std::vector<std::string> out;
    if (const auto* v = util::find_key_go(obj, key); v != nullptr && v->is_array()) {
        for (const auto& item : *v) {
            if (item.is_string()) {
                out.push_back(item.get<std::string>());
            }
        }
    }
    return out;
}

// The address of an address or CIDR ("192.0.2.5/24" -> 192.0.2.5), as Go's net.ParseCIDR
// reads it for the network-status.
std::optional<net::IpAddr> address_part(std::string_view address_or_cidr) {
    return net::parse_ip(address_or_cidr.substr(0, address_or_cidr.find('/')));
}

std::string ip_of(const std::string& network, const std::string& text) {
    const auto ip = address_part(text);
    if (!ip) {
        bad_result(network, "invalid IP address \"" + text + "\"");
    }
    return net::to_string(*ip);
}

/// Default route: dst IP is 0.0.0.0 or :: (any prefix length), as NAD client isDefaultRoute.
void add_routes(const std::string& network, const nlohmann::json* routes, Current& out) {
    if (routes == nullptr || !routes->is_array()) {
        return;
    }
    for (const auto& route : *routes) {
        const auto dst = str(route, "dst");
        const auto dst_ip = address_part(dst);
        if (!dst_ip) {
            bad_result(network, "invalid route dst \"" + dst + "\"");
        }
        if (*dst_ip != net::zero_address(dst_ip->family)) {
            continue;
        }
        const auto gw = str(route, "gw");
        // A default route without gw prints as Go's nil IP.
        out.default_gateways.push_back(gw.empty() ? "<nil>" : ip_of(network, gw));
    }
}

Dns parse_dns(const nlohmann::json& result) {
    Dns dns;
    if (const auto* d = util::find_key_go(result, "dns"); d != nullptr && d->is_object()) {
        dns.nameservers = str_list(*d, "nameservers");
        dns.domain = str(*d, "domain");
        dns.search = str_list(*d, "search");
        dns.options = str_list(*d, "options");
    }
    return dns;
}

Current to_current(const std::string& network, const nlohmann::json& result) {
    if (!result.is_object()) {
        bad_result(network, "not a JSON object");
    }
    Current out;
    out.dns = parse_dns(result);
    const bool legacy = util::find_key_go(result, "ips") == nullptr &&
                        (util::find_key_go(result, "ip4") != nullptr ||
                         util::find_key_go(result, "ip6") != nullptr);
    if (legacy) {
        // 0.1.0/0.2.0: no interfaces; ip4/ip6 carry one address, gateway and routes each.
        for (const char* family : {"ip4", "ip6"}) {
            const auto* block = util::find_key_go(result, family);
            if (block == nullptr || !block->is_object()) {
                continue;
            }
            const auto gw = str(*block, "gateway");
            out.ips.push_back({ip_of(network, str(*block, "ip")), !gw.empty(), std::nullopt});
            add_routes(network, util::find_key_go(*block, "routes"), out);
        }
        return out;
    }
    if (const auto* ifs = util::find_key_go(result, "interfaces");
        ifs != nullptr && ifs->is_array()) {
        for (const auto& iface : *ifs) {
            ResultInterface ri{str(iface, "name"), str(iface, "mac"), 0, str(iface, "sandbox")};
            if (const auto* mtu = util::find_key_go(iface, "mtu");
                mtu != nullptr && mtu->is_number()) {
                ri.mtu = mtu->get<long long>();
            }
            out.interfaces.push_back(std::move(ri));
        }
    }
    if (const auto* ips = util::find_key_go(result, "ips"); ips != nullptr && ips->is_array()) {
        for (const auto& ipc : *ips) {
            ResultIp ri{ip_of(network, str(ipc, "address")), !str(ipc, "gateway").empty(),
                        std::nullopt};
            if (const auto* idx = util::find_key_go(ipc, "interface");
                idx != nullptr && idx->is_number_integer()) {
                ri.interface = idx->get<long long>();
            }
            out.ips.push_back(std::move(ri));
        }
    }
    add_routes(network, util::find_key_go(result, "routes"), out);
    return out;
}

/// CreateNetworkStatus (singular): the path for results with exactly one interface.
Status single(const AttachmentStatus& a, const Current& cur) {
    Status s;
    s.name = a.network;
    s.is_default = a.is_primary;
    for (const auto& iface : cur.interfaces) {
        if (!iface.sandbox.empty()) {
            s.interface = iface.name;
            s.mac = iface.mac;
            s.mtu = iface.mtu;
        }
    }
    for (const auto& ip : cur.ips) {
        s.ips.push_back(ip.ip);
    }
    s.gateway = cur.default_gateways;
    s.dns = cur.dns;
    return s;
}

/// CreateNetworkStatuses: one entry per sandbox interface.
std::vector<Status> statuses_for(const AttachmentStatus& a) {
    const Current cur = to_current(a.network, a.result);
    if (cur.interfaces.size() == 1) {
        return {single(a, cur)};
    }
    long long gw_index = -1;
    if (a.is_primary) {
        for (const auto& ip : cur.ips) {
            if (ip.has_gateway && ip.interface) {
                gw_index = *ip.interface;
                break;
            }
        }
    }
    std::vector<Status> out;
    std::map<long long, std::size_t> index_map;
    bool found_first_sandbox = false;
    bool did_set_default = false;
    for (std::size_t i = 0; i < cur.interfaces.size(); ++i) {
        const auto& iface = cur.interfaces[i];
        if (iface.sandbox.empty()) {
            continue;
        }
        bool is_default = false;
        if (a.is_primary && static_cast<long long>(i) == gw_index && !did_set_default) {
            is_default = did_set_default = true;
        }
        if (a.is_primary && gw_index == -1 && !found_first_sandbox) {
            is_default = found_first_sandbox = true;
        }
        Status s;
        s.name = a.network;
        s.is_default = is_default;
        s.interface = iface.name;
        s.mac = iface.mac;
        s.mtu = iface.mtu;
        s.gateway = cur.default_gateways;
        s.dns = cur.dns;
        index_map[static_cast<long long>(i)] = out.size();
        out.push_back(std::move(s));
    }
    for (const auto& ip : cur.ips) {
        if (ip.interface) {
            if (auto it = index_map.find(*ip.interface); it != index_map.end()) {
                out[it->second].ips.push_back(ip.ip);
            }
        } else if (!out.empty()) {
            out.back().ips.push_back(ip.ip);  // index-less IPs go to the last sandbox entry
        }
    }
    return out;
}

// ---- json.MarshalIndent(status, "", "    ") -------------------------------------------------

class IndentWriter {
public:
    void open(char bracket) {
        out_ += bracket;
        ++depth_;
        first_ = true;
    }

    void close(char bracket) {
        --depth_;
        newline();
        out_ += bracket;
        first_ = false;
    }

    void key(std::string_view name) {
        separator();
        out_ += util::go_quote(name);
        out_ += ": ";
    }

    void raw(std::string_view text) {
        out_ += text;
        first_ = false;
    }

    void element(std::string_view text) {
        separator();
        raw(text);
    }

    void string_list(std::string_view name, const std::vector<std::string>& items) {
        if (items.empty()) {
            return;  // omitempty
        }
        key(name);
        open('[');
        for (const auto& item : items) {
            element(util::go_quote(item));
        }
        close(']');
    }

    void string_field(std::string_view name, const std::string& value, bool omitempty) {
        if (omitempty && value.empty()) {
            return;
        }
        key(name);
        raw(util::go_quote(value));
    }

    std::string take() { return std::move(out_); }

private:
    void separator() {
        if (!first_) {
            out_ += ',';
        }
        newline();
        first_ = false;
    }

    void newline() {
        out_ += '\n';
        out_.append(static_cast<std::size_t>(depth_) * 4, ' ');
    }

    std::string out_;
    int depth_ = 0;
    bool first_ = true;
};

std::string marshal_indent(const Status& s) {
    IndentWriter w;
    w.open('{');
    w.string_field("name", s.name, false);
    w.string_field("interface", s.interface, true);
    w.string_list("ips", s.ips);
    w.string_field("mac", s.mac, true);
    if (s.mtu != 0) {
        w.key("mtu");
        w.raw(std::to_string(s.mtu));
    }
    if (s.is_default) {
        w.key("default");
        w.raw("true");
    }
    // A struct value: omitempty never drops it, an empty one prints {}.
    w.key("dns");
    const bool dns_empty = s.dns.nameservers.empty() && s.dns.domain.empty() &&
                           s.dns.search.empty() && s.dns.options.empty();
    if (dns_empty) {
        w.raw("{}");
    } else {
        w.open('{');
        w.string_list("nameservers", s.dns.nameservers);
        w.string_field("domain", s.dns.domain, true);
        w.string_list("search", s.dns.search);
        w.string_list("options", s.dns.options);
        w.close('}');
    }
    w.string_list("gateway", s.gateway);
    w.close('}');
    return w.take();
}

}  // namespace

std::string network_status_value(const std::vector<AttachmentStatus>& attachments) {
    std::string out = "[";
    bool first = true;
    for (const auto& attachment : attachments) {
        for (const auto& status : statuses_for(attachment)) {
            if (!first) {
                out += ',';
            }
            first = false;
            out += marshal_indent(status);
        }
    }
    out += ']';
    return out;
}

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
