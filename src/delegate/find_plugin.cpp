#include <string>

#include <sys/stat.h>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/delegate/exec_invoker.hpp"

namespace splitnet::delegate {

std::string find_plugin(std::string_view type, const std::vector<std::string>& path) {
    // The type comes from a network config that may come from a NAD anyone in the namespace
    // can write: it must name a file inside the search path, never a path of its own.
    if (type.empty() || type == "." || type == ".." || type.find('/') != std::string_view::npos ||
        type.find('\0') != std::string_view::npos) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         fmt::format("invalid plugin type \"{}\": it must be a file name without "
                                     "'/', found in CNI_PATH",
                                     type));
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
            return candidate;
        }
    }
    throw cni::Error(
        cni::ErrorCode::Internal,
        fmt::format("failed to find plugin \"{}\" in path [{}]", type, fmt::join(path, " ")));
}

}  // namespace splitnet::delegate
