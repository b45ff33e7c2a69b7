#include "splitnet/cni/result.hpp"

#include <array>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/net/ip.hpp"

namespace splitnet::cni {
namespace {

using nlohmann::json;

std::string string_at(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return {};
    }
    if (!it->is_string()) {
        throw Error(ErrorCode::DecodingFailure,
                    fmt::format("result field \"{}\" is not a string", key));
    }
    return it->get<std::string>();
}

std::optional<int> int_at(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_number_integer()) {
        throw Error(ErrorCode::DecodingFailure,
                    fmt::format("result field \"{}\" is not an integer", key));
    }
    return it->get<int>();
}

std::vector<std::string> strings_at(const json& object, const char* key) {
    std::vector<std::string> out;
    const auto it = object.find(key);
    if (it != object.end() && it->is_array()) {
        for (const auto& item : *it) {
            if (item.is_string()) {
                out.push_back(item.get<std::string>());
            }
        }
    }
    return out;
}

const json& array_at(const json& object, const char* key) {
    static const json kEmpty = json::array();
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
        return kEmpty;
    }
    if (!it->is_array()) {
        throw Error(ErrorCode::DecodingFailure,
                    fmt::format("result field \"{}\" is not an array", key));
    }
    return *it;
}

Route parse_route(const json& doc) {
    if (!doc.is_object()) {
        throw Error(ErrorCode::DecodingFailure, "result route is not an object");
    }
    Route route;
    route.dst = string_at(doc, "dst");
    route.gw = string_at(doc, "gw");
    route.mtu = int_at(doc, "mtu");
    route.advmss = int_at(doc, "advmss");
    route.priority = int_at(doc, "priority");
    route.table = int_at(doc, "table");
    route.scope = int_at(doc, "scope");
    return route;
}

Dns parse_dns(const json& doc) {
    Dns dns;
    const auto it = doc.find("dns");
    if (it == doc.end() || !it->is_object()) {
        return dns;
    }
    dns.nameservers = strings_at(*it, "nameservers");
    dns.domain = string_at(*it, "domain");
    dns.search = strings_at(*it, "search");
    dns.options = strings_at(*it, "options");
    return dns;
}

// The family of a result's CIDR (an address or a route destination). Plugins write valid ones;
// anything unreadable counts as IPv4, the family every result version has.
net::Family cidr_family(std::string_view text) {
    const auto parsed = net::parse_cidr(text, {.allow_bare_address = true});
    return parsed ? parsed->family() : net::Family::V4;
}

void parse_legacy_family(const json& doc, const char* key, Result& result) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) {
        return;
    }
    if (!it->is_object()) {
        throw Error(ErrorCode::DecodingFailure,
                    fmt::format("result field \"{}\" is not an object", key));
    }
    IpConfig ip;
    ip.address = string_at(*it, "ip");
    ip.gateway = string_at(*it, "gateway");
    result.ips.push_back(ip);
    for (const auto& route : array_at(*it, "routes")) {
        result.routes.push_back(parse_route(route));
    }
}

json route_to_json(const Route& route) {
    json out = json::object();
    out["dst"] = route.dst;
    if (!route.gw.empty()) {
        out["gw"] = route.gw;
    }
    const auto put = [&](const char* key, const std::optional<int>& value) {
        if (value) {
            out[key] = *value;
        }
    };
    put("mtu", route.mtu);
    put("advmss", route.advmss);
    put("priority", route.priority);
    put("table", route.table);
    put("scope", route.scope);
    return out;
}

json dns_to_json(const Dns& dns) {
    json out = json::object();
    if (!dns.nameservers.empty()) {
        out["nameservers"] = dns.nameservers;
    }
    if (!dns.domain.empty()) {
        out["domain"] = dns.domain;
    }
    if (!dns.search.empty()) {
        out["search"] = dns.search;
    }
    if (!dns.options.empty()) {
        out["options"] = dns.options;
    }
    return out;
}

json legacy_to_json(const Result& result, std::string_view version) {
    json out = json::object();
    out["cniVersion"] = std::string(version);
    std::array<const IpConfig*, 2> first{};
    for (const auto& ip : result.ips) {
        auto& slot = first[cidr_family(ip.address) == net::Family::V6 ? 1 : 0];
        if (slot == nullptr) {
            slot = &ip;
        }
    }
    if (first[0] == nullptr && first[1] == nullptr) {
        throw Error(ErrorCode::Other, "cannot convert: no valid IP addresses",
                    fmt::format("a {} result needs at least one IP address", version));
    }
    constexpr std::array<const char*, 2> kKeys = {"ip4", "ip6"};
    for (std::size_t family = 0; family < first.size(); ++family) {
        if (first[family] == nullptr) {
            continue;
        }
        json entry = {{"ip", first[family]->address}};
        if (!first[family]->gateway.empty()) {
            entry["gateway"] = first[family]->gateway;
        }
        json routes = json::array();
        for (const auto& route : result.routes) {
            if ((cidr_family(route.dst) == net::Family::V6) == (family == 1)) {
                json r = {{"dst", route.dst}};
                if (!route.gw.empty()) {
                    r["gw"] = route.gw;
                }
                routes.push_back(std::move(r));
            }
        }
        if (!routes.empty()) {
            entry["routes"] = std::move(routes);
        }
        out[kKeys[family]] = std::move(entry);
    }
    if (!result.dns.empty()) {
        out["dns"] = dns_to_json(result.dns);
    }
    return out;
}

}  // namespace

Result parse_result(const json& doc, std::string_view fallback_version) {
    if (!doc.is_object()) {
        throw Error(ErrorCode::DecodingFailure, "result is not a JSON object");
    }
    Result result;
    result.cni_version = string_at(doc, "cniVersion");
    if (result.cni_version.empty()) {
        result.cni_version = std::string(fallback_version);
    }
    if (!is_supported_version(result.cni_version)) {
        throw Error(ErrorCode::DecodingFailure,
                    fmt::format("unsupported CNI result version \"{}\"", result.cni_version));
    }
    if (!version_at_least(result.cni_version, "0.3.0")) {
        parse_legacy_family(doc, "ip4", result);
        parse_legacy_family(doc, "ip6", result);
        result.dns = parse_dns(doc);
        return result;
    }
    for (const auto& item : array_at(doc, "interfaces")) {
        Interface iface;
        iface.name = string_at(item, "name");
        iface.mac = string_at(item, "mac");
        iface.mtu = int_at(item, "mtu");
        iface.sandbox = string_at(item, "sandbox");
        iface.socket_path = string_at(item, "socketPath");
        iface.pci_id = string_at(item, "pciID");
        result.interfaces.push_back(std::move(iface));
    }
    for (const auto& item : array_at(doc, "ips")) {
        IpConfig ip;
        ip.address = string_at(item, "address");
        ip.gateway = string_at(item, "gateway");
        ip.interface = int_at(item, "interface");
        result.ips.push_back(std::move(ip));
    }
    for (const auto& item : array_at(doc, "routes")) {
        result.routes.push_back(parse_route(item));
    }
    result.dns = parse_dns(doc);
    return result;
}

json result_to_json(const Result& result, std::string_view version) {
    if (!is_supported_version(version)) {
        throw Error(ErrorCode::IncompatibleVersion,
                    fmt::format("no converter for CNI result version {} to {}", result.cni_version,
                                version));
    }
    if (!version_at_least(version, "0.3.0")) {
        return legacy_to_json(result, version);
    }
    const bool v1 = version_at_least(version, "1.0.0");
    json out = json::object();
    out["cniVersion"] = std::string(version);
    json interfaces = json::array();
    for (const auto& iface : result.interfaces) {
        json entry = {{"name", iface.name}};
        if (!iface.mac.empty()) {
            entry["mac"] = iface.mac;
        }
        if (v1 && iface.mtu) {
            entry["mtu"] = *iface.mtu;
        }
        if (!iface.sandbox.empty()) {
            entry["sandbox"] = iface.sandbox;
        }
        if (v1 && !iface.socket_path.empty()) {
            entry["socketPath"] = iface.socket_path;
        }
        if (v1 && !iface.pci_id.empty()) {
            entry["pciID"] = iface.pci_id;
        }
        interfaces.push_back(std::move(entry));
    }
    if (!interfaces.empty()) {
        out["interfaces"] = std::move(interfaces);
    }
    json ips = json::array();
    for (const auto& ip : result.ips) {
        json entry = json::object();
        if (!v1) {
            entry["version"] = std::to_string(net::ip_version(cidr_family(ip.address)));
        }
        if (ip.interface) {
            entry["interface"] = *ip.interface;
        }
        entry["address"] = ip.address;
        if (!ip.gateway.empty()) {
            entry["gateway"] = ip.gateway;
        }
        ips.push_back(std::move(entry));
    }
    if (!ips.empty()) {
        out["ips"] = std::move(ips);
    }
    json routes = json::array();
    for (const auto& route : result.routes) {
        routes.push_back(route_to_json(route));
    }
    if (!routes.empty()) {
        out["routes"] = std::move(routes);
    }
    if (!result.dns.empty()) {
        out["dns"] = dns_to_json(result.dns);
    }
    return out;
}

}  // namespace splitnet::cni
