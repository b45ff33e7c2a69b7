#include "splitnet/net/netns.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <system_error>

#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

#ifndef NSFS_MAGIC
constexpr long kNsfsMagic = 0x6e736673;
#else
constexpr long kNsfsMagic = NSFS_MAGIC;
#endif

// Every problem with a namespace path is a kind of its own: for the CNI runtime it is a bad
// CNI_NETNS (code 4), so the message can say what to fix.
[[noreturn]] void bad_netns(const std::string& path, const std::string& problem,
                            int sys_errno = 0) {
    throw KernelError(fmt::format("failed to open netns \"{}\": {}", path, problem), sys_errno, {},
                      KernelError::Kind::BadNetnsPath);
}

util::UniqueFd open_checked(std::string_view path, bool missing_ok, bool& missing) {
    const std::string p(path);
    missing = false;
    // O_PATH first: nothing is opened for I/O, so a FIFO cannot block us and a device node sees
    // no open() (a watchdog or a tty would act on it). Symlinks are followed on purpose:
    // /proc/<pid>/ns/net is one, and whatever it leads to must still pass the checks below.
    util::UniqueFd handle(::open(p.c_str(), O_PATH | O_CLOEXEC));
    if (!handle.valid()) {
        const int err = errno;
        if (err == ENOENT && missing_ok) {
            missing = true;
            return {};
        }
        bad_netns(p, errno_text(err), err);
    }

    struct statfs fs {};

    if (::fstatfs(handle.get(), &fs) != 0) {
        const int err = errno;
        bad_netns(p, "failed to Statfs: " + errno_text(err), err);
    }
    if (static_cast<long>(fs.f_type) != kNsfsMagic) {
        bad_netns(p, fmt::format(R"(not a namespace file: unknown FS magic on "{}": {:x})", p,
                                 static_cast<unsigned long>(fs.f_type)));
    }
    // Only an nsfs inode gets here: reopening it for setns() cannot block or have side effects
    // (the flags are belt and braces).
    const auto reopen = fmt::format("/proc/self/fd/{}", handle.get());
    util::UniqueFd fd(::open(reopen.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) {
        const int err = errno;
        bad_netns(p, errno_text(err), err);
    }
    // nsfs also holds mount, pid, user ... namespaces; setns(CLONE_NEWNET) would refuse them later
    // with a less helpful EINVAL.
    const int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) {
        const int err = type < 0 ? errno : 0;
        bad_netns(p,
                  type < 0 ? "NS_GET_NSTYPE: " + errno_text(err)
                           : "a namespace, but not a network namespace",
                  err);
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
        const int err = errno;
        throw KernelError(
            fmt::format("failed to open /proc/thread-self/ns/net: {}", errno_text(err)), err);
    }
    return fd;
}

bool same_netns(int fd_a, int fd_b) {
    struct stat a {};

    struct stat b {};

    if (::fstat(fd_a, &a) != 0 || ::fstat(fd_b, &b) != 0) {
        const int err = errno;
        throw KernelError(fmt::format("failed to stat netns fd: {}", errno_text(err)), err);
    }
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

NetnsGuard::NetnsGuard(int target_fd) : saved_(open_current_netns()) {
    if (::setns(target_fd, CLONE_NEWNET) != 0) {
        const int err = errno;
        throw KernelError(fmt::format("setns into netns fd {}: {}", target_fd, errno_text(err)),
                          err);
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
