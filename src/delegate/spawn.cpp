#include "splitnet/delegate/spawn.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <unistd.h>

#include <sys/syscall.h>

#include "splitnet/delegate/process.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::delegate::detail {
namespace {

using Clock = std::chrono::steady_clock;
using util::UniqueFd;

constexpr std::size_t kChunk = std::size_t{64} * 1024;

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings) {
        out.push_back(const_cast<char*>(s.c_str()));  // NOLINT: exec API takes char*
    }
    out.push_back(nullptr);
    return out;
}

void forward(int fd, const char* data, std::size_t size) {
    while (fd >= 0 && size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // our stderr is gone or full: the captured copy still exists
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

enum class ReadState { More, Again, Eof };

ReadState read_some(const UniqueFd& fd, std::string& into, std::array<char, kChunk>& buffer,
                    std::size_t& got) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n > 0) {
        got = static_cast<std::size_t>(n);
        into.append(buffer.data(), got);
        return ReadState::More;
    }
    got = 0;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return ReadState::Again;
    }
    return ReadState::Eof;  // EOF, or an error that leaves nothing more to read
}

// The pump: stdin, stdout and stderr are served together so that a plugin writing a large
// result before reading its config cannot deadlock against us.
class Pump {
public:
    Pump(const SpawnRequest& request, SpawnOutcome& outcome, UniqueFd in, UniqueFd out,
         UniqueFd err)
        : request_(request),
          outcome_(outcome),
          in_(std::move(in)),
          out_(std::move(out)),
          err_(std::move(err)) {
        if (request_.stdin_data.empty()) {
            in_.reset();
        }
    }

    bool stdout_open() const { return out_.valid(); }

    bool stderr_open() const { return err_.valid(); }

    bool overflowed() const { return overflow_; }

    void add_fds(std::vector<pollfd>& fds) const {
        if (in_.valid()) {
            fds.push_back({in_.get(), POLLOUT, 0});
        }
        if (out_.valid()) {
            fds.push_back({out_.get(), POLLIN, 0});
        }
        if (err_.valid()) {
            fds.push_back({err_.get(), POLLIN, 0});
        }
    }

    void serve(const std::vector<pollfd>& fds) {
        for (const auto& p : fds) {
            if (p.revents == 0) {
                continue;
            }
            if (in_.valid() && p.fd == in_.get()) {
                write_stdin();
            } else if (out_.valid() && p.fd == out_.get()) {
                read_stdout(false);
            } else if (err_.valid() && p.fd == err_.get()) {
                read_stderr(false);
            }
        }
    }

    /// After the child exited: take what it wrote, ignore what descendants may still write.
    void drain() {
        in_.reset();
        read_stdout(true);
        read_stderr(true);
        out_.reset();
        err_.reset();
    }

private:
    void write_stdin() {
        const auto rest = request_.stdin_data.substr(stdin_offset_);
        const ssize_t n = ::write(in_.get(), rest.data(), std::min(rest.size(), kChunk));
        if (n >= 0) {
            stdin_offset_ += static_cast<std::size_t>(n);
        } else if (errno != EAGAIN && errno != EINTR) {
            in_.reset();  // EPIPE: the plugin does not want (more of) its config
            return;
        }
        if (stdin_offset_ >= request_.stdin_data.size()) {
            in_.reset();  // EOF tells the plugin the config is complete
        }
    }

    void read_stdout(bool until_empty) {
        std::size_t got = 0;
        ReadState state = ReadState::More;
        while (out_.valid() && !overflow_) {
            state = read_some(out_, outcome_.out, buffer_, got);
            if (request_.max_stdout > 0 && outcome_.out.size() > request_.max_stdout) {
                overflow_ = true;
            }
            if (state == ReadState::Eof) {
                out_.reset();
            }
            if (state != ReadState::More || !until_empty) {
                break;
            }
        }
    }

    void read_stderr(bool until_empty) {
        std::size_t got = 0;
        std::string chunk;
        while (err_.valid()) {
            chunk.clear();
            const ReadState state = read_some(err_, chunk, buffer_, got);
            forward(request_.forward_stderr_fd, chunk.data(), chunk.size());
            keep_stderr(chunk);
            if (state == ReadState::Eof) {
                err_.reset();
            }
            if (state != ReadState::More || !until_empty) {
                break;
            }
        }
    }

    void keep_stderr(const std::string& chunk) {
        const std::size_t room = request_.max_stderr_kept > outcome_.err.size()
                                     ? request_.max_stderr_kept - outcome_.err.size()
                                     : 0;
        outcome_.err.append(chunk, 0, std::min(room, chunk.size()));
        if (chunk.size() > room) {
            outcome_.err_truncated = true;
        }
    }

    const SpawnRequest& request_;
    SpawnOutcome& outcome_;
    UniqueFd in_;
    UniqueFd out_;
    UniqueFd err_;
    std::size_t stdin_offset_ = 0;
    bool overflow_ = false;
    std::array<char, kChunk> buffer_{};
};

void record_exit(SpawnOutcome& outcome, int status) {
    if (WIFSIGNALED(status)) {
        outcome.status = SpawnOutcome::Status::Signaled;
        outcome.signal = WTERMSIG(status);
    } else {
        outcome.status = SpawnOutcome::Status::Exited;
        outcome.exit_code = WEXITSTATUS(status);
    }
}

int poll_timeout_ms(const std::optional<Clock::time_point>& deadline) {
    if (!deadline) {
        return -1;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 60'000));
}

}  // namespace

SpawnOutcome run_process(const SpawnRequest& request) {
    SpawnOutcome outcome;
    const auto started = Clock::now();
    std::optional<Clock::time_point> deadline;
    if (request.timeout.count() > 0) {
        deadline = started + request.timeout;
    }

    Pipe in = make_pipe();
    Pipe out = make_pipe();
    Pipe err = make_pipe();
    const SigpipeBlock sigpipe_block;
    const auto argv = c_strings(request.argv);
    const auto envp = c_strings(request.env);

    int exec_errno = 0;
    const pid_t pid = spawn_child(request.path.c_str(), argv.data(), envp.data(), in.read.get(),
                                  out.write.get(), err.write.get(), exec_errno);
    if (pid < 0) {
        outcome.spawn_errno = exec_errno;
        return outcome;
    }
    Child child(pid);
    in.read.reset();
    out.write.reset();
    err.write.reset();
    set_nonblocking(in.write);
    set_nonblocking(out.read);
    set_nonblocking(err.read);
    util::kill_point("delegate-spawned");
    // A pidfd tells us when the plugin itself exits even if a daemon it started keeps our
    // pipes open; without it (old kernels) we wait for EOF on both pipes.
    const UniqueFd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    Pump pump(request, outcome, std::move(in.write), std::move(out.read), std::move(err.read));
    std::vector<pollfd> fds;
    int status = 0;
    bool exited = false;
    while (!exited) {
        if (!exit_fd.valid() && !pump.stdout_open() && !pump.stderr_open()) {
            if (child.try_wait(status)) {
                exited = true;
                break;
            }
        }
        const int wait_ms = poll_timeout_ms(deadline);
        if (deadline && wait_ms == 0) {
            break;
        }
        fds.clear();
        pump.add_fds(fds);
        if (exit_fd.valid()) {
            fds.push_back({exit_fd.get(), POLLIN, 0});
        }
        // Without a pidfd and with both pipes closed, poll only paces the waitpid() checks.
        const int slice = fds.empty() ? std::min(wait_ms < 0 ? 10 : wait_ms, 10) : wait_ms;
        const int n = ::poll(fds.data(), fds.size(), slice);
        if (n < 0 && errno != EINTR) {
            fail_setup("poll", errno);
        }
        if (n <= 0) {
            continue;
        }
        pump.serve(fds);
        if (pump.overflowed()) {
            break;
        }
        if (exit_fd.valid() && fds.back().revents != 0) {
            pump.drain();
            status = child.wait();
            exited = true;
        }
    }

    if (exited) {
        record_exit(outcome, status);
    } else {
        outcome.status = pump.overflowed() ? SpawnOutcome::Status::StdoutOverflow
                                           : SpawnOutcome::Status::TimedOut;
        child.kill_group();
        child.wait();
    }
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return outcome;
}

}  // namespace splitnet::delegate::detail
