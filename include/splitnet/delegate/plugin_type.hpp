#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "splitnet/delegate/network.hpp"

namespace splitnet::delegate {

/// Longest plugin type accepted (real ones are short: "cilium-cni", "host-local").
inline constexpr std::size_t kMaxPluginTypeLength = 64;

/// Why `type` cannot name a plugin binary, or "" when it can: it must be a plain file name
/// (^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, at most kMaxPluginTypeLength bytes) and must not be a
/// meta-plugin (splitnet, multus, multus-shim): a nested meta-plugin would read the network's
/// own config as a node config (binDir, logFile, kubeconfig, ...).
std::string plugin_type_problem(std::string_view type);

/// Every plugin of a network config (a conf or each plugin of a conflist), and each one's IPAM,
/// has an acceptable type (every key that case-folds to "type" or "ipam" counts, as Go's
/// encoding/json would let any of them through). Throws Error(InvalidNetworkConfig) naming the
/// network and saying what to use instead.
void check_plugin_types(const NetworkConfig& net, std::string_view network);

}  // namespace splitnet::delegate
