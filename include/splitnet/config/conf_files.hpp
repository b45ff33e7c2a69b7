#pragma once

#include <string>
#include <string_view>

namespace splitnet::config {

/// NAD client GetCNIConfigFromSpec: `name` is injected only when the config has no "name" or an
/// empty one (then re-marshalled like Go: sorted keys, compact); otherwise the bytes are returned
/// verbatim. Throws cni::Error for a config that is not a JSON object.
std::string inject_network_name(std::string_view config, const std::string& name);

/// NAD client GetCNIConfigFromFile: the first of <dir>/*.{conf,json,conflist} (lexical order) whose
/// name is `name` (any file when `name` is empty). A matching .conf/.json without "type" is an
/// error. Throws cni::Error with the NAD client's messages.
std::string config_from_conf_dir(const std::string& name, const std::string& conf_dir);

/// Multus' clusterNetwork/defaultNetworks given as a path: a directory -> its lexically first
/// config (when it has a .conf or .conflist); a .conflist file -> loaded with libcni's subdirectory
/// chaining (<dir>/<list name>/*.conf appended unless loadOnlyInlinedPlugins); another file -> a
/// single conf that must have "type". nullopt-like behaviour is an exception: throws cni::Error.
std::string config_from_path(const std::string& path);

/// Multus LoadDelegateNetConf's checks (non-empty "type" -> conf, else a conflist whose
/// plugins[0] has a type). Returns the config's name. Throws cni::Error with Multus' messages.
std::string check_delegate_config(std::string_view config);

}  // namespace splitnet::config
