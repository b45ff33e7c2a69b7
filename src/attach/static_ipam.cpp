#include "splitnet/attach/static_ipam.hpp"

#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "splitnet/attach/json_fields.hpp"
#include "splitnet/cni/args.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::attach {

namespace {

using nlohmann::json;

// json.Unmarshal errors of static are returned bare (no prefix); keep the key for context.
constexpr std::string_view kIpamErrorPrefix = "static IPAM config";

struct Address {
    std::string text;                  // as given (AddressStr)
    std::optional<net::IpNet> parsed;  // set for CNI_ARGS entries before validation (Go quirk)
    std::optional<net::IpAddr> gateway;
};

net::IpAddr parse_json_ip(const std::string& text) {
    // net.IP.UnmarshalText
    const auto ip = net::parse_ip(text);
    if (!ip) {
        cni::fail(cni::ErrorCode::Other, fmt::format("invalid IP address: {}", text));
    }
    return *ip;
}

net::IpNet parse_json_cidr(const std::string& text) {
    // types.IPNet.UnmarshalJSON -> net.ParseCIDR's ParseError
    const auto net = net::parse_cidr(text);
    if (!net) {
        cni::fail(cni::ErrorCode::Other, fmt::format("invalid CIDR address: {}", text));
    }
    return *net;
}

std::optional<int> optional_int(const json& obj, const char* key) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return std::nullopt;
    }
    return detail::int_field(obj, key, kIpamErrorPrefix);
}

std::vector<cni::Route> parse_routes(const json& ipam) {
    std::vector<cni::Route> out;
    const auto it = ipam.find("routes");
    if (it == ipam.end() || it->is_null()) {
        return out;
    }
    if (!it->is_array()) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("{}: field \"routes\" must be a list", kIpamErrorPrefix));
    }
    for (const auto& item : *it) {
        if (!item.is_object()) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("{}: a route must be an object", kIpamErrorPrefix));
        }
        cni::Route route;
        // Go re-prints both through net.IPNet/net.IP: canonical text, host bits kept.
        route.dst =
            net::to_string(parse_json_cidr(detail::string_field(item, "dst", kIpamErrorPrefix)));
        if (const auto gw = detail::string_field(item, "gw", kIpamErrorPrefix); !gw.empty()) {
            route.gw = net::to_string(parse_json_ip(gw));
        }
        route.mtu = optional_int(item, "mtu");
        route.advmss = optional_int(item, "advmss");
        route.priority = optional_int(item, "priority");
        route.table = optional_int(item, "table");
        route.scope = optional_int(item, "scope");
        out.push_back(std::move(route));
    }
    return out;
}

struct Loaded {
    std::string cni_version;
    std::vector<Address> addresses;
    std::vector<net::IpNet> validated;
    std::vector<cni::Route> routes;
    cni::Dns dns;
};

std::vector<std::string> ips_list(const json& holder) {
    return detail::string_list_field(holder, "ips", kIpamErrorPrefix);
}

// LoadIPAMConfig, step by step in Go's order so the first error is the same one.
Loaded load_ipam(std::string_view config_json, std::string_view cni_args) {
    const auto doc = detail::parse_object(config_json, kIpamErrorPrefix);
    Loaded out;
    out.cni_version = detail::string_field(doc, "cniVersion", kIpamErrorPrefix);
    const auto* ipam = detail::object_field(doc, "ipam", kIpamErrorPrefix);
    if (ipam == nullptr) {
        cni::fail(cni::ErrorCode::Other, "IPAM config missing 'ipam' key");
    }
    out.routes = parse_routes(*ipam);
    out.dns =
        detail::parse_dns(detail::object_field(*ipam, "dns", kIpamErrorPrefix), kIpamErrorPrefix);
    if (const auto it = ipam->find("addresses"); it != ipam->end() && !it->is_null()) {
        if (!it->is_array()) {
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("{}: field \"addresses\" must be a list", kIpamErrorPrefix));
        }
        for (const auto& item : *it) {
            if (!item.is_object()) {
                cni::fail(cni::ErrorCode::Other,
                          fmt::format("{}: an address must be an object", kIpamErrorPrefix));
            }
            Address addr;
            addr.text = detail::string_field(item, "address", kIpamErrorPrefix);
            if (const auto gw = detail::string_field(item, "gateway", kIpamErrorPrefix);
                !gw.empty()) {
                addr.gateway = parse_json_ip(gw);
            }
            out.addresses.push_back(std::move(addr));
        }
    }
    std::vector<std::string> args_ips;
    if (const auto* args = detail::object_field(doc, "args", kIpamErrorPrefix); args != nullptr) {
        if (const auto* cni = detail::object_field(*args, "cni", kIpamErrorPrefix);
            cni != nullptr) {
            args_ips = ips_list(*cni);
        }
    }
    std::vector<std::string> runtime_ips;
    if (const auto* rc = detail::object_field(doc, "runtimeConfig", kIpamErrorPrefix);
        rc != nullptr) {
        runtime_ips = ips_list(*rc);
    }

    if (!cni_args.empty()) {
        const auto pairs = cni::parse_cni_args(cni_args);
        cni::check_known_args(pairs, {kStaticArgKeys.begin(), kStaticArgKeys.end()});
        if (const auto ip = cni::arg_value(pairs, "IP"); !ip.empty()) {
            for (const auto item : util::split(ip, ',')) {
                std::string text(util::trim(item));
                const auto parsed = net::parse_cidr(text);
                if (!parsed) {
                    cni::fail(
                        cni::ErrorCode::Other,
                        fmt::format("the 'ip' field is expected to be in CIDR notation, got: '{}'",
                                    text));
                }
                out.addresses.push_back(Address{std::move(text), parsed, std::nullopt});
            }
        }
        if (const auto gws = cni::arg_value(pairs, "GATEWAY"); !gws.empty()) {
            for (const auto item : util::split(gws, ',')) {
                const auto gw = net::parse_ip(util::trim(item));
                if (!gw) {
                    cni::fail(cni::ErrorCode::Other,
                              fmt::format("invalid gateway address: {}", item));
                }
                // Only addresses that already carry a parsed network match: in Go the config
                // addresses are still unparsed at this point (their net.IPNet is zero).
                for (auto& addr : out.addresses) {
                    if (addr.parsed && addr.parsed->contains(*gw)) {
                        addr.gateway = gw;
                    }
                }
            }
        }
    }

    auto replace_with = [&](const std::vector<std::string>& ips) {
        out.addresses.clear();
        for (const auto& ip : ips) {
            if (!net::parse_cidr(ip)) {
                cni::fail(
                    cni::ErrorCode::Other,
                    fmt::format("an entry in the 'ips' field is NOT in CIDR notation, got: '{}'",
                                ip));
            }
            out.addresses.push_back(Address{ip, std::nullopt, std::nullopt});
        }
    };
    if (!args_ips.empty()) {
        replace_with(args_ips);
    }
    if (!runtime_ips.empty()) {
        replace_with(runtime_ips);
    }

    int v4 = 0;
    int v6 = 0;
    for (const auto& addr : out.addresses) {
        const auto parsed = net::parse_cidr(addr.text);
        if (!parsed) {
            cni::fail(
                cni::ErrorCode::Other,
                fmt::format("the 'address' field is expected to be in CIDR notation, got: '{}'",
                            addr.text));
        }
        (parsed->addr.is_v4() ? v4 : v6) += 1;
        out.validated.push_back(*parsed);
    }
    if ((v4 > 1 || v6 > 1) && !cni::version_at_least(out.cni_version, "0.3.0")) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("CNI version {} does not support more than 1 address per family",
                              out.cni_version));
    }
    return out;
}

}  // namespace

cni::Result static_ipam_add(std::string_view config_json, std::string_view cni_args) {
    auto loaded = load_ipam(config_json, cni_args);
    cni::Result result;
    result.cni_version = loaded.cni_version;
    for (std::size_t i = 0; i < loaded.addresses.size(); ++i) {
        cni::IpConfig ip;
        ip.address = net::to_string(loaded.validated[i]);
        if (loaded.addresses[i].gateway) {
            ip.gateway = net::to_string(*loaded.addresses[i].gateway);
        }
        result.ips.push_back(std::move(ip));
    }
    result.routes = std::move(loaded.routes);
    result.dns = std::move(loaded.dns);
    return result;
}

void static_ipam_check(std::string_view config_json, std::string_view cni_args,
                       std::string_view ifname) {
    const auto loaded = load_ipam(config_json, cni_args);
    const auto doc = detail::parse_object(config_json, kIpamErrorPrefix);
    const auto it = doc.find("prevResult");
    if (it == doc.end() || it->is_null()) {
        cni::fail(cni::ErrorCode::Other, "Required prevResult missing");
    }
    const auto prev = cni::parse_result(*it, loaded.cni_version);
    for (std::size_t i = 0; i < loaded.addresses.size(); ++i) {
        const auto& want = loaded.validated[i];
        for (const auto& have : prev.ips) {
            const auto have_net = net::parse_cidr(have.address);
            if (!have_net || !(have_net->addr == want.addr)) {
                continue;
            }
            const auto& gw = loaded.addresses[i].gateway;
            if (!gw || (!have.gateway.empty() && net::parse_ip(have.gateway) == gw)) {
                break;
            }
            cni::fail(cni::ErrorCode::Other,
                      fmt::format("static: Failed to match addr {} on interface {}",
                                  net::to_string(have_net->addr), ifname));
        }
    }
}

}  // namespace splitnet::attach
