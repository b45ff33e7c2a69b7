#pragma once

// Private to src/delegate: RAII pieces of running a child process (pipes, spawn attributes,
// SIGPIPE handling, the child's lifetime). run_process() in spawn.cpp puts them together.

#include <csignal>
#include <spawn.h>
#include <string_view>

#include <sys/types.h>

#include "splitnet/util/unique_fd.hpp"

namespace splitnet::delegate::detail {

/// Throws cni::Error(Internal) "cannot run plugin: <what>: <strerror(err)>".
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

/// Own process group, empty signal mask, default SIGPIPE.
class SpawnAttr {
public:
    SpawnAttr();
    ~SpawnAttr();
    SpawnAttr(const SpawnAttr&) = delete;
    SpawnAttr& operator=(const SpawnAttr&) = delete;
    SpawnAttr(SpawnAttr&&) = delete;
    SpawnAttr& operator=(SpawnAttr&&) = delete;

    [[nodiscard]] const posix_spawnattr_t* get() const { return &attr_; }

private:
    posix_spawnattr_t attr_{};
};

/// stdin/stdout/stderr from the given fds; every other descriptor closed (glibc >= 2.34).
class FileActions {
public:
    FileActions(int in, int out, int err);
    ~FileActions();
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    FileActions(FileActions&&) = delete;
    FileActions& operator=(FileActions&&) = delete;

    [[nodiscard]] const posix_spawn_file_actions_t* get() const { return &actions_; }

private:
    posix_spawn_file_actions_t actions_{};
};

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
