#include "splitnet/net/netns.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <system_error>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

#ifndef NSFS_MAGIC
constexpr long kNsfsMagic = 0x6e736673;
#else
constexpr long kNsfsMagic = NSFS_MAGIC;
#endif

util::UniqueFd open_checked(std::string_view path, bool missing_ok, bool& missing) {
    const std::string p(path);
    missing = false;
    util::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int err = errno;
        if (err == ENOENT && missing_ok) {
            missing = true;
            return {};
        }
        throw cni::Error(cni::ErrorCode::Internal,
                         fmt::format("failed to open netns \"{}\": {}", p, errno_text(err)));
    }

    struct statfs fs {};

    if (::fstatfs(fd.get(), &fs) != 0) {
        throw cni::Error(
            cni::ErrorCode::Internal,
            fmt::format("failed to open netns \"{}\": failed to Statfs: {}", p, errno_text(errno)));
    }
    if (static_cast<long>(fs.f_type) != kNsfsMagic &&
        static_cast<long>(fs.f_type) != PROC_SUPER_MAGIC) {
        throw cni::Error(cni::ErrorCode::Internal,
                         fmt::format(R"(failed to open netns "{}": unknown FS magic on "{}": {:x})",
                                     p, p, static_cast<unsigned long>(fs.f_type)));
    }
    return fd;
}

}  // namespace

util::UniqueFd open_netns(std::string_view path) {
    bool missing = false;
    return open_checked(path, false, missing);
}

std::optional<util::UniqueFd> open_netns_if_exists(std::string_view path) {
    bool missing = false;
    auto fd = open_checked(path, true, missing);
    if (missing) {
        return std::nullopt;
    }
    return fd;
}

util::UniqueFd open_current_netns() {
    util::UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        throw cni::Error(
            cni::ErrorCode::Internal,
            fmt::format("failed to open /proc/thread-self/ns/net: {}", errno_text(errno)));
    }
    return fd;
}

bool same_netns(int fd_a, int fd_b) {
    struct stat a {};

    struct stat b {};

    if (::fstat(fd_a, &a) != 0 || ::fstat(fd_b, &b) != 0) {
        throw cni::Error(cni::ErrorCode::Internal,
                         fmt::format("failed to stat netns fd: {}", errno_text(errno)));
    }
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

NetnsGuard::NetnsGuard(int target_fd) : saved_(open_current_netns()) {
    if (::setns(target_fd, CLONE_NEWNET) != 0) {
        throw cni::Error(cni::ErrorCode::Internal,
                         fmt::format("setns into netns fd {}: {}", target_fd, errno_text(errno)));
    }
}

NetnsGuard::~NetnsGuard() {
    if (::setns(saved_.get(), CLONE_NEWNET) != 0) {
        // Continuing in the wrong netns would corrupt the node's networking.
        spdlog::critical("cannot return to the original netns: {}",
                         std::system_category().message(errno));
        std::abort();
    }
}

}  // namespace splitnet::net
