#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "splitnet/delegate/invoker.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::delegate {

/// Finds `type` in the search path: the first regular file named so wins (as pkg/invoke; the
/// execute bit is not required). Throws Error(InvalidNetworkConfig) when plugin_type_problem()
/// refuses the type (not a plain file name, or a meta-plugin) or when the file found is this very
/// executable under another name; Error(Other) `failed to find plugin "x" in path [...]` when
/// absent. Empty path entries are skipped (they would mean the current directory).
std::string find_plugin(std::string_view type, const std::vector<std::string>& path);

/// Set (to "1") in the environment of every plugin splitnet runs, and so inherited by whatever
/// that plugin runs in turn (an IPAM, a delegate): splitnet refuses to run as a meta-plugin when
/// it finds it, whichever way a network config managed to name it.
inline constexpr std::string_view kNestedMarker = "SPLITNET_NESTED";

/// The plugin's environment: `parent` ("K=V" entries) with CNI_COMMAND, CNI_CONTAINERID,
/// CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH (joined with ':') and kNestedMarker set from the
/// call, and SPLITNET_ADD_TAG when the call has an add_tag. Duplicate keys are removed, the last
/// one winning (as Go's exec.Cmd), entries without '=' are dropped.
std::vector<std::string> plugin_environment(const PluginCall& call,
                                            const std::vector<std::string>& parent);

struct ExecOptions {
    /// Delays before each re-exec after ETXTBSY (the binary is being replaced): one retry each.
    std::vector<std::chrono::milliseconds> busy_backoff{
        std::chrono::milliseconds(50), std::chrono::milliseconds(100),
        std::chrono::milliseconds(200), std::chrono::milliseconds(400),
        std::chrono::milliseconds(800)};
    /// Waits out one backoff step; tests replace it to count retries or to release the binary.
    std::function<void(std::chrono::milliseconds)> sleep;
    std::size_t max_stdout = util::kMaxResultBytes;        ///< a plugin printing more is killed
    std::size_t max_stderr_kept = std::size_t{64} << 10U;  ///< kept for error messages
    int forward_stderr_fd = 2;  ///< the plugin's stderr is copied here live; -1: not forwarded
};

/// Execs plugins: full parent environment with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
/// CNI_IFNAME, CNI_ARGS and CNI_PATH set per call; stdin from the call; stdout captured (capped);
/// stderr forwarded to ours. Kills the plugin's process group (SIGKILL) when the timeout expires
/// (a timeout <= 0 means none); retries ETXTBSY with a fresh exec.
class ExecInvoker final : public PluginInvoker {
public:
    ExecInvoker() = default;

    explicit ExecInvoker(ExecOptions options) : options_(std::move(options)) {}

    std::string invoke(const PluginCall& call) override;

private:
    ExecOptions options_;
};

}  // namespace splitnet::delegate
