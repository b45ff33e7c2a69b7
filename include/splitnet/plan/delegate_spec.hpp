#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitnet::plan {

/// The per-network request from a pod annotation (Multus NetworkSelectionElement).
// The implicit moves are noexcept; bugprone-exception-escape follows nlohmann::json internals.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Selection {
    std::string name;
    std::string namespace_;
    std::string interface;         ///< requested ifname ("" = default naming)
    std::vector<std::string> ips;  ///< IP or CIDR strings, verbatim
    std::string mac;
    std::string infiniband_guid;
    std::string device_id;
    nlohmann::json port_mappings;  ///< null when absent
    nlohmann::json bandwidth;      ///< null when absent
    nlohmann::json cni_args;       ///< object merged into args.cni; null when absent
    std::optional<std::vector<std::string>> default_route;  ///< present even when empty

    bool operator==(const Selection&) const = default;
};

/// One network to attach, before ifnames and runtime arguments are decided.
struct DelegateSpec {
    std::string name;    ///< "ns/nad" for NADs, the config name for files and inline delegates
    std::string config;  ///< exact conf or conflist bytes (name injected when it was missing)
    bool is_primary = false;
    std::optional<Selection> selection;  ///< set for annotation-derived networks

    bool operator==(const DelegateSpec&) const = default;
};

}  // namespace splitnet::plan
