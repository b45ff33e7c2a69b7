#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "splitnet/cni/request.hpp"

namespace splitnet::delegate {

/// One plugin invocation, exactly as a runtime would make it: stdin bytes plus CNI_* values.
struct PluginCall {
    cni::Verb verb = cni::Verb::Add;
    std::string type;    ///< plugin binary name (validated: no '/', not "." / "..")
    std::string config;  ///< exact stdin bytes (name, cniVersion, runtimeConfig, prevResult set)
    std::string container_id;
    std::string netns;
    std::string ifname;
    std::string cni_args;
    std::vector<std::string> cni_path;  ///< search path, binDir first
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    /// ADD only: exported as SPLITNET_ADD_TAG (delegate/leftovers.hpp), inherited by whatever
    /// the plugin starts; empty: not set.
    std::string add_tag;
};

/// Runs one plugin. ADD returns the plugin's stdout (a result document); other verbs return "".
/// Failure throws cni::Error carrying the plugin's own code, msg and details.
class PluginInvoker {
public:
    PluginInvoker() = default;
    virtual ~PluginInvoker() = default;
    PluginInvoker(const PluginInvoker&) = delete;
    PluginInvoker& operator=(const PluginInvoker&) = delete;
    PluginInvoker(PluginInvoker&&) = delete;
    PluginInvoker& operator=(PluginInvoker&&) = delete;

    virtual std::string invoke(const PluginCall& call) = 0;
};

}  // namespace splitnet::delegate
