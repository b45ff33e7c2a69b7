#include "process.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include <sys/wait.h>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::delegate::detail {
namespace {

using util::UniqueFd;

// Pipe ends live above fd 2 so that dup2() onto 0/1/2 in the child always makes a new
// descriptor (dup2 onto itself would keep O_CLOEXEC and the child would lose the stream).
void lift_above_stdio(UniqueFd& fd) {
    if (fd.get() > STDERR_FILENO) {
        return;
    }
    const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) {
        fail_setup("fcntl", errno);
    }
    fd.reset(moved);
}

}  // namespace

void fail_setup(std::string_view what, int err) {
    throw cni::Error(cni::ErrorCode::Internal, fmt::format("cannot run plugin: {}: {}", what,
                                                           std::system_category().message(err)));
}

Pipe make_pipe() {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        fail_setup("pipe", errno);
    }
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    lift_above_stdio(pipe.read);
    lift_above_stdio(pipe.write);
    return pipe;
}

void set_nonblocking(const UniqueFd& fd) {
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
        fail_setup("fcntl", errno);
    }
}

SigpipeBlock::SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

SigpipeBlock::~SigpipeBlock() {
    if (sigismember(&old_, SIGPIPE) == 0) {
        sigset_t pending;
        sigemptyset(&pending);
        if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec zero{};
            ::sigtimedwait(&set_, nullptr, &zero);
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

SpawnAttr::SpawnAttr() {
    if (const int rc = ::posix_spawnattr_init(&attr_); rc != 0) {
        fail_setup("posix_spawnattr_init", rc);
    }
    // Own process group: a timeout kills the plugin's children too. Empty signal mask and
    // default SIGPIPE: the plugin must not inherit our SigpipeBlock.
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (::posix_spawnattr_setflags(&attr_, flags) != 0 ||
        ::posix_spawnattr_setpgroup(&attr_, 0) != 0 ||
        ::posix_spawnattr_setsigmask(&attr_, &empty) != 0 ||
        ::posix_spawnattr_setsigdefault(&attr_, &defaults) != 0) {
        ::posix_spawnattr_destroy(&attr_);
        fail_setup("posix_spawnattr", EINVAL);
    }
}

SpawnAttr::~SpawnAttr() {
    ::posix_spawnattr_destroy(&attr_);
}

FileActions::FileActions(int in, int out, int err) {
    if (const int rc = ::posix_spawn_file_actions_init(&actions_); rc != 0) {
        fail_setup("posix_spawn_file_actions_init", rc);
    }
    int rc = ::posix_spawn_file_actions_adddup2(&actions_, in, STDIN_FILENO);
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_adddup2(&actions_, out, STDOUT_FILENO);
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_adddup2(&actions_, err, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    // Descriptors leaked without O_CLOEXEC (by us or a library) must not reach the plugin:
    // an inherited lock fd would outlive this process in any daemon the plugin starts.
    rc = rc != 0 ? rc : ::posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
#endif
    if (rc != 0) {
        ::posix_spawn_file_actions_destroy(&actions_);
        fail_setup("posix_spawn_file_actions", rc);
    }
}

FileActions::~FileActions() {
    ::posix_spawn_file_actions_destroy(&actions_);
}

Child::~Child() {
    if (!reaped_) {
        kill_group();
        wait();
    }
}

void Child::kill_group() const {
    if (pid_ > 1 && !reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);  // in case the plugin left its group
    }
}

int Child::wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
}

bool Child::try_wait(int& status) {
    pid_t rc = 0;
    do {
        rc = ::waitpid(pid_, &status, WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc == pid_ || rc < 0) {
        reaped_ = true;
        return true;
    }
    return false;
}

}  // namespace splitnet::delegate::detail
