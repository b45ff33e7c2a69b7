#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/install/options.hpp"

namespace splitnet::install {

inline constexpr const char* kConfBaseName = "00-splitnet";
inline constexpr const char* kDefaultNetworkName = "splitnet-cni-network";

/// Whether a file in the config directory is one of splitnet's or Multus' generated configs,
/// which are never taken as the master (the cluster network's own config).
bool is_generated_config(const std::string& file_name);

/// The master config among `file_names` (a directory listing, any order): `requested` when set
/// (nullopt when it is not listed), else the lexically first *.conf / *.conflist that is not a
/// generated config. The runtime orders files the same way. Pure.
std::optional<std::string> pick_master(std::vector<std::string> file_names,
                                       const std::string& requested);

/// A generated CNI config file.
struct NodeConfig {
    std::string file_name;  ///< 00-splitnet.conf (cniVersion < 1.0.0) or 00-splitnet.conflist
    std::string content;    ///< pretty JSON with a trailing newline
};

/// The node config that wraps `master` (the parsed master file): its cniVersion, the union of its
/// plugins' capabilities (so the runtime passes their runtimeConfig through), the master itself
/// as the only delegate, `kubeconfig` unless empty, and the keys the options ask for. Pure.
///
/// Throws cni::Error(InvalidNetworkConfig) naming `master_name` when the master is not a JSON
/// object with a string cniVersion, when a conflist's plugins are not objects, and when
/// --cni-version differs from the master's without --force-cni-version.
NodeConfig generate_node_config(const nlohmann::json& master, const std::string& master_name,
                                const Options& options, const std::string& kubeconfig);

/// The other of 00-splitnet.conf / .conflist: removed when `written` is written, since .conf
/// sorts first and a stale one would win.
std::string sibling_config_name(const std::string& written);

}  // namespace splitnet::install
