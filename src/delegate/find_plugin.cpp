#include <string>

#include <sys/stat.h>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/delegate/exec_invoker.hpp"
#include "splitnet/delegate/plugin_type.hpp"

namespace splitnet::delegate {

namespace {

// Our own executable under another name (a link such as binDir/multus -> splitnet left by a
// migration): running it would nest a meta-plugin. False when /proc is unavailable.
bool is_own_executable(const struct stat& candidate) {
    struct stat self {};

    return ::stat("/proc/self/exe", &self) == 0 && self.st_dev == candidate.st_dev &&
           self.st_ino == candidate.st_ino;
}

}  // namespace

std::string find_plugin(std::string_view type, const std::vector<std::string>& path) {
    // The type comes from a network config that may come from a NAD anyone in the namespace
    // can write: it must name a file inside the search path, never a path of its own, and
    // never a meta-plugin.
    if (auto problem = plugin_type_problem(type); !problem.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig, problem);
    }
    for (const auto& dir : path) {
        if (dir.empty()) {
            continue;
        }
        std::string candidate = dir;
        if (candidate.back() != '/') {
            candidate += '/';
        }
        candidate.append(type);

        struct stat st {};

        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            if (is_own_executable(st)) {
                throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                                 fmt::format("plugin type \"{}\" is splitnet itself ({}): a "
                                             "meta-plugin cannot be a network's plugin",
                                             type, candidate),
                                 "name the plugin that creates the interface instead");
            }
            return candidate;
        }
    }
    throw cni::Error(cni::ErrorCode::Other, fmt::format("failed to find plugin \"{}\" in path [{}]",
                                                        type, fmt::join(path, " ")));
}

}  // namespace splitnet::delegate
