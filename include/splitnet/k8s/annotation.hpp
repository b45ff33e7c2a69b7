#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "splitnet/plan/delegate_spec.hpp"

namespace splitnet::k8s {

inline constexpr std::string_view kNetworksAnnotation = "k8s.v1.cni.cncf.io/networks";
inline constexpr std::string_view kDefaultNetworkAnnotation = "v1.multus-cni.io/default-network";
inline constexpr std::string_view kNetworkStatusAnnotation = "k8s.v1.cni.cncf.io/network-status";

/// ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ (Multus' check of comma-form items; also namespaces).
bool is_dns1123_label(std::string_view text);

/// Kubernetes object names (NADs, pods): dot-separated DNS-1123 labels, at most 253 bytes. This is
/// what keeps "..", "/" and "%" out of the REST paths we build.
bool is_dns1123_subdomain(std::string_view text);

/// Parses a k8s.v1.cni.cncf.io/networks (or default-network) value like Multus'
/// parsePodNetworkAnnotation: JSON list when the value contains '[', '{' or '"', else the
/// comma form "[ns/]name[@ifname]". Empty namespaces become `default_namespace`; `interfaceRequest`
/// is used when `interface` is empty. Throws cni::Error with Multus' messages. Keys Multus does not
/// know (e.g. "gateway") are logged as a warning naming the key, or rejected when `strict`.
std::vector<plan::Selection> parse_network_selection(std::string_view value,
                                                     std::string_view default_namespace,
                                                     bool strict);

}  // namespace splitnet::k8s
