#include "splitnet/delegate/leftovers.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <sys/random.h>
#include <sys/syscall.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::delegate {
namespace {

using Clock = std::chrono::steady_clock;
using util::UniqueFd;

// The whole environment block of a process; empty when it is gone, a zombie or a kernel thread.
std::string read_environ(pid_t pid) {
    const std::string path = fmt::format("/proc/{}/environ", pid);
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::string out;
    if (!fd.valid()) {
        return out;
    }
    std::array<char, 8192> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return out;
        }
        out.append(buffer.data(), static_cast<std::size_t>(n));
    }
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    const std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), &::closedir);
    if (!proc) {
        throw cni::Error(cni::ErrorCode::Other, fmt::format("cannot list /proc: {}",
                                                            std::system_category().message(errno)));
    }
    // glibc readdir is safe on a stream no other thread uses; readdir_r is deprecated.
    while (const dirent* entry = ::readdir(proc.get())) {  // NOLINT(concurrency-mt-unsafe)
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (end != entry->d_name && *end == '\0' && pid > 0) {
            pids.push_back(static_cast<pid_t>(pid));
        }
    }
    return pids;
}

// One pass: kill what carries the tag now; returns the pidfds of the killed processes.
std::vector<UniqueFd> kill_tagged(std::string_view tag) {
    std::vector<UniqueFd> killed;
    const pid_t self = ::getpid();
    for (const pid_t pid : all_pids()) {
        if (pid == self) {
            continue;
        }
        // Held first: if `pid` exits and is reused before we signal, the pidfd still names the
        // old process and the signal goes nowhere.
        UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        if (!pidfd.valid() || !environment_has_tag(read_environ(pid), tag)) {
            continue;
        }
        if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0) {
            spdlog::info("killed process {} left running by an unfinished ADD", pid);
            killed.push_back(std::move(pidfd));
        }
    }
    return killed;
}

// A pidfd turns readable once its process has exited (its files and locks are released then).
bool wait_gone(std::vector<UniqueFd>& pidfds, Clock::time_point deadline) {
    std::vector<pollfd> fds;
    while (!pidfds.empty()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        fds.clear();
        for (const auto& fd : pidfds) {
            fds.push_back({fd.get(), POLLIN, 0});
        }
        const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) {
            return false;
        }
        std::vector<UniqueFd> alive;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) {
                alive.push_back(std::move(pidfds[i]));
            }
        }
        pidfds = std::move(alive);
    }
    return true;
}

}  // namespace

std::string new_add_tag() {
    std::array<unsigned char, 16> bytes{};
    if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
        throw cni::Error(cni::ErrorCode::Other, "getrandom failed");
    }
    std::string out;
    for (const unsigned char b : bytes) {
        out += fmt::format("{:02x}", b);
    }
    return out;
}

bool environment_has_tag(std::string_view environ_block, std::string_view tag) {
    if (tag.empty()) {
        return false;
    }
    const std::string wanted = fmt::format("{}={}", kAddTagVariable, tag);
    while (!environ_block.empty()) {
        const auto end = environ_block.find('\0');
        if (environ_block.substr(0, end) == wanted) {
            return true;
        }
        if (end == std::string_view::npos) {
            break;
        }
        environ_block.remove_prefix(end + 1);
    }
    return false;
}

std::size_t stop_tagged_processes(std::string_view tag, std::chrono::milliseconds bound) {
    const auto deadline = Clock::now() + bound;
    std::size_t total = 0;
    for (;;) {
        auto killed = kill_tagged(tag);
        if (killed.empty()) {
            return total;
        }
        total += killed.size();
        if (!wait_gone(killed, deadline)) {
            throw cni::Error(
                cni::ErrorCode::TryAgainLater,
                fmt::format("{} process(es) of an unfinished ADD survive SIGKILL", killed.size()),
                "they must be gone before the delegates' DEL; retry the DEL");
        }
    }
}

}  // namespace splitnet::delegate
