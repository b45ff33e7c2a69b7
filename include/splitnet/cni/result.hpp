#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitnet::cni {

/// The result model is the 1.1.0 shape; older versions are produced by conversion.
struct Interface {
    std::string name;
    std::string mac;
    std::optional<int> mtu;
    std::string sandbox;
    std::string socket_path;
    std::string pci_id;
};

struct IpConfig {
    std::string address;  ///< CIDR, e.g. "192.0.2.5/24"
    std::string gateway;  ///< may be empty
    std::optional<int> interface;
};

struct Route {
    std::string dst;  ///< CIDR
    std::string gw;   ///< may be empty
    std::optional<int> mtu;
    std::optional<int> advmss;
    std::optional<int> priority;
    std::optional<int> table;
    std::optional<int> scope;
};

struct Dns {
    std::vector<std::string> nameservers;
    std::string domain;
    std::vector<std::string> search;
    std::vector<std::string> options;

    [[nodiscard]] bool empty() const {
        return nameservers.empty() && domain.empty() && search.empty() && options.empty();
    }
};

struct Result {
    std::string cni_version;
    std::vector<Interface> interfaces;
    std::vector<IpConfig> ips;
    std::vector<Route> routes;
    Dns dns;
};

/// Decodes a result of any supported version (0.1.0/0.2.0 ip4/ip6 included). A missing
/// cniVersion is read as `fallback_version` (libcni, cni#895). Throws Error(DecodingFailure).
Result parse_result(const nlohmann::json& doc, std::string_view fallback_version);

/// Encodes in `version`: ips[].version for 0.3.x/0.4.0, none for 1.x, ip4/ip6 for 0.1/0.2
/// (fails with "cannot convert: no valid IP addresses" when there is no IP).
nlohmann::json result_to_json(const Result& result, std::string_view version);

}  // namespace splitnet::cni
