#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/delegate/invoker.hpp"

namespace splitnet::delegate {

/// A delegate's network configuration: a single plugin conf or a conflist, kept with the exact
/// bytes it came in (every plugin object is re-encoded from those bytes, never from a model).
// The implicit moves are noexcept; bugprone-exception-escape follows nlohmann::json internals.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct NetworkConfig {
    std::string name;
    std::string cni_version;
    bool is_list = false;
    nlohmann::json doc;                   ///< the whole parsed document
    std::vector<nlohmann::json> plugins;  ///< 1 element for a conf
};

/// Conf if it has a non-empty "type", else conflist with "plugins" (Multus' classification).
/// Throws Error(InvalidNetworkConfig) naming what is missing.
NetworkConfig parse_network_config(std::string_view bytes);

/// The runtime side of one attachment (libcni RuntimeConf).
struct RuntimeConf {
    std::string container_id;
    std::string netns;
    std::string ifname;
    std::string cni_args;
    std::vector<std::string> cni_path;
    nlohmann::json capability_args = nlohmann::json::object();  ///< runtimeConfig candidates
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    std::string add_tag;  ///< PluginCall::add_tag of every ADD call
};

/// libcni buildOneConfig: inject name, cniVersion, runtimeConfig filtered by the plugin's
/// capabilities, and prevResult when given.
std::string build_plugin_config(const NetworkConfig& net, const nlohmann::json& plugin,
                                const nlohmann::json& capability_args,
                                const nlohmann::json* prev_result);

/// ADD through every plugin, chaining prevResult. Returns the final result document as the last
/// plugin printed it, converted to the list version. On failure nothing is undone here: the caller
/// DELs the whole network, as a runtime would.
/// `plugins_added`, when given, counts the plugins of the list whose ADD succeeded, also when a
/// later one fails (what a rollback has to undo).
nlohmann::json add_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                           std::size_t* plugins_added = nullptr);

/// ADD of one plugin of `net` (one of net.plugins) with `prev_result` (may be null). Returns its
/// result converted to the list version, as add_network chains it.
nlohmann::json add_plugin(PluginInvoker& invoker, const NetworkConfig& net,
                          const nlohmann::json& plugin, const RuntimeConf& rt,
                          const nlohmann::json* prev_result);

/// DEL in reverse order; prev_result may be null. Continues on error and throws the first one.
void del_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                 const nlohmann::json* prev_result);

/// CHECK each plugin with prev_result (required); stops at the first failure.
void check_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                   const nlohmann::json& prev_result);

/// STATUS each plugin; the first failure is thrown as is.
void status_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt);

/// GC each plugin with extra top-level keys (cni.dev/valid-attachments ...); continues on error.
void gc_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                const nlohmann::json& extra_keys);

}  // namespace splitnet::delegate
