#include "splitnet/delegate/process.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

#include <sys/prctl.h>
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
    throw cni::Error(cni::ErrorCode::Other, fmt::format("cannot run plugin: {}: {}", what,
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

namespace {

// The vfork()ed child until exec. It runs on the parent's memory and stack while the calling
// thread is suspended (other threads of ours go on), so: only system calls, nothing allocated,
// no lock taken, nothing written but its own frame, and it never returns. Its signal handlers
// are a copy of the parent's (no CLONE_SIGHAND), so resetting SIGPIPE here changes nothing in
// the parent. Failures are reported as an errno through the close-on-exec `status` pipe; exec
// closing it is the parent's sign of success.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int in,
                             int out, int err, int status, pid_t parent) {
    const auto report = [status](int error) {
        // Nothing to do if this write fails: the parent then sees "exited 127".
        [[maybe_unused]] const ssize_t n = ::write(status, &error, sizeof error);
        ::_exit(127);
    };
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        report(errno);
    }
    // The parent may have died before the line above: then no signal will ever come.
    if (::getppid() != parent) {
        (void)::raise(SIGKILL);  // SIGKILL cannot be caught: nothing runs after it
    }
    if (::setpgid(0, 0) != 0) {
        report(errno);
    }
    sigset_t empty;
    sigemptyset(&empty);

    struct sigaction default_action {};

    default_action.sa_handler = SIG_DFL;  // NOLINT(cppcoreguidelines-pro-type-union-access)
    if (::sigaction(SIGPIPE, &default_action, nullptr) != 0 ||
        // The child has one thread; pthread_sigmask would return the error, not set errno.
        ::sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) {  // NOLINT(concurrency-mt-unsafe)
        report(errno);
    }
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(err, STDERR_FILENO) < 0) {
        report(errno);
    }
    // Descriptors leaked without O_CLOEXEC (by us or a library) must not reach the plugin: an
    // inherited lock fd would outlive this process in any daemon the plugin starts.
    if (::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        report(errno);
    }
    ::execve(path, argv, envp);
    report(errno);
    ::_exit(127);  // not reached: report() exits
}

}  // namespace

pid_t spawn_child(const char* path, char* const* argv, char* const* envp, int in, int out, int err,
                  int& exec_errno) {
    Pipe status = make_pipe();
    const pid_t parent = ::getpid();
    // vfork, not fork: no copy of this process's page tables, and none of its pages turned
    // copy-on-write under the threads that keep running (0.1 ms of an ADD's wall time here).
    const pid_t pid = ::vfork();  // NOLINT(clang-analyzer-security.insecureAPI.vfork)
    if (pid < 0) {
        fail_setup("vfork", errno);
    }
    if (pid == 0) {
        exec_child(path, argv, envp, in, out, err, status.write.get(), parent);
    }
    status.write.reset();
    int child_errno = 0;
    ssize_t n = 0;
    do {
        n = ::read(status.read.get(), &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof child_errno)) {
        return pid;  // EOF: exec closed the pipe
    }
    int wait_status = 0;
    while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    exec_errno = child_errno;
    return -1;
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
