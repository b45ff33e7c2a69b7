#include "splitnet/net/sysctl.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "splitnet/net/netns.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::net {

namespace {

std::string sysctl_path(std::string_view key) {
    const bool escapes = key.find("..") != std::string_view::npos;
    if (!key.starts_with("net/") || escapes) {
        throw KernelError(fmt::format("invalid sysctl key \"{}\": must be under net/", key));
    }
    return fmt::format("/proc/sys/{}", key);
}

}  // namespace

void write_sysctl(std::string_view key, std::string_view value) {
    const auto path = sysctl_path(key);
    const util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int err = errno;
        throw KernelError(
            fmt::format("failed to set sysctl {}={}: {}", key, value, errno_text(err)), err);
    }
    const auto written = ::write(fd.get(), value.data(), value.size());
    if (written != static_cast<ssize_t>(value.size())) {
        const int err = written < 0 ? errno : 0;
        throw KernelError(fmt::format("failed to set sysctl {}={}: {}", key, value,
                                      written < 0 ? errno_text(err) : "short write"),
                          err);
    }
}

std::string read_sysctl(std::string_view key) {
    const auto path = sysctl_path(key);
    const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int err = errno;
        throw KernelError(fmt::format("failed to read sysctl {}: {}", key, errno_text(err)), err);
    }
    std::string out;
    std::array<char, 256> buf{};
    for (;;) {
        const auto n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            const int err = errno;
            throw KernelError(fmt::format("failed to read sysctl {}: {}", key, errno_text(err)),
                              err);
        }
        if (n == 0) {
            break;
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
        out.pop_back();
    }
    return out;
}

void write_sysctls_in(int netns_fd, const std::vector<std::pair<std::string, std::string>>& kv) {
    const NetnsGuard guard(netns_fd);
    for (const auto& [key, value] : kv) {
        write_sysctl(key, value);
    }
}

std::string read_sysctl_in(int netns_fd, std::string_view key) {
    const NetnsGuard guard(netns_fd);
    return read_sysctl(key);
}

}  // namespace splitnet::net
