#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "splitnet/delegate/invoker.hpp"

namespace splitnet::delegate {

/// Finds `type` in the search path: the first regular file named so wins (as pkg/invoke).
/// Throws Error(InvalidNetworkConfig) for a type with '/' or "..", Error(Internal)
/// `failed to find plugin "x" in path [...]` when absent.
std::string find_plugin(std::string_view type, const std::vector<std::string>& path);

/// Execs plugins: full parent environment with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
/// CNI_IFNAME, CNI_ARGS and CNI_PATH set per call; stdin from the call; stdout captured (capped);
/// stderr forwarded to ours. Kills the plugin (SIGKILL) when the timeout expires; retries ETXTBSY.
class ExecInvoker final : public PluginInvoker {
public:
    std::string invoke(const PluginCall& call) override;
};

}  // namespace splitnet::delegate
