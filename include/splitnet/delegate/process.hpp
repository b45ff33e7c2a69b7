#pragma once

// Private to src/delegate: RAII pieces of running a child process (pipes, spawn attributes,
// SIGPIPE handling, the child's lifetime). run_process() in spawn.cpp puts them together.

#include <csignal>
#include <string_view>

#include <sys/types.h>

#include "splitnet/util/unique_fd.hpp"

namespace splitnet::delegate::detail {

/// Throws cni::Error(Other) "cannot run plugin: <what>: <strerror(err)>".
[[noreturn]] void fail_setup(std::string_view what, int err);

struct Pipe {
    util::UniqueFd read;
    util::UniqueFd write;
};

/// O_CLOEXEC pipe whose ends are both above fd 2.
Pipe make_pipe();

void set_nonblocking(const util::UniqueFd& fd);

/// Writing to a child that closed its stdin must show up as EPIPE, not kill us: blocks SIGPIPE
/// in this thread while alive and discards one that our writes raised.
class SigpipeBlock {
public:
    SigpipeBlock();
    ~SigpipeBlock();
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;
    SigpipeBlock(SigpipeBlock&&) = delete;
    SigpipeBlock& operator=(SigpipeBlock&&) = delete;

private:
    sigset_t set_{};
    sigset_t old_{};
};

/// Starts `path` the way a delegate must run: in its own process group (a timeout kills the
/// plugin's children too), with stdin/stdout/stderr from `in`/`out`/`err` and every other
/// descriptor closed, an empty signal mask and default SIGPIPE, and SIGKILL as its parent-death
/// signal, so that a SIGKILLed splitnet does not leave it running (posix_spawn cannot set that:
/// this is vfork + exec). Returns the pid once exec succeeded; -1 with `exec_errno` set when it
/// did not (ETXTBSY, ENOENT, EACCES, ENOEXEC ...). The parent-death signal follows the calling
/// thread: call it from the thread that waits for the child (run_process does).
pid_t spawn_child(const char* path, char* const* argv, char* const* envp, int in, int out, int err,
                  int& exec_errno);

/// Owns a started child: whatever happens, it is killed (if still needed) and reaped.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid) {}

    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    Child(Child&&) = delete;
    Child& operator=(Child&&) = delete;

    /// SIGKILL to the child's process group and the child; a no-op once reaped (the pid may
    /// belong to someone else by then).
    void kill_group() const;
    int wait();                  ///< blocking reap, returns the wait status
    bool try_wait(int& status);  ///< non-blocking reap; true when the child had exited

private:
    pid_t pid_;
    bool reaped_ = false;
};

}  // namespace splitnet::delegate::detail
