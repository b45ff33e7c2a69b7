#pragma once

// Private to src/delegate: runs one child process with its three standard streams pumped
// together. Knows nothing about CNI; ExecInvoker turns the outcome into results and errors.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace splitnet::delegate::detail {

struct SpawnRequest {
    std::string path;               ///< absolute or relative file to execute (no PATH search)
    std::vector<std::string> argv;  ///< argv[0] included
    std::vector<std::string> env;   ///< complete environment, "K=V" each
    std::string_view stdin_data;
    std::chrono::milliseconds timeout{0};  ///< <= 0: no limit
    std::size_t max_stdout = 0;            ///< bytes; more than this kills the child
    std::size_t max_stderr_kept = 0;       ///< stderr bytes kept (all of it is still forwarded)
    int forward_stderr_fd = -1;            ///< where the child's stderr is copied live; -1: nowhere
};

struct SpawnOutcome {
    enum class Status { NotStarted, Exited, Signaled, TimedOut, StdoutOverflow };
    Status status = Status::NotStarted;
    int spawn_errno = 0;  ///< set when NotStarted (ETXTBSY, ENOENT, EACCES, ENOEXEC ...)
    int exit_code = 0;    ///< Exited
    int signal = 0;       ///< Signaled
    std::string out;
    std::string err;  ///< first max_stderr_kept bytes of stderr
    bool err_truncated = false;
    std::chrono::milliseconds elapsed{0};
};

/// Starts `path` in its own process group (spawn_child: it dies with this process) and waits for
/// it. The child is always reaped; on timeout or stdout overflow the whole process group is
/// SIGKILLed first. Setup failures other
/// than exec (pipe, spawn attributes) throw cni::Error(Other).
SpawnOutcome run_process(const SpawnRequest& request);

}  // namespace splitnet::delegate::detail
