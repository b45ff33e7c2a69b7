#include "splitnet/agent/outcome_log.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <fmt/format.h>

#include "splitnet/util/text.hpp"

namespace splitnet::agent {
namespace {

constexpr std::string_view kLineVersion = "v1";
constexpr mode_t kOutcomeLogMode = 0600;

bool known_verb(std::string_view verb) {
    return verb == "ADD" || verb == "DEL" || verb == "CHECK";
}

bool same_file(int fd, const std::string& path) {
    struct stat by_fd {};

    struct stat by_path {};

    return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
           by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

util::UniqueFd open_for_reading(const std::string& path) {
    return util::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
}

}  // namespace

std::string format_outcome_line(const Outcome& outcome) {
    return fmt::format("{} {} {} {} {:.6f}\n", kLineVersion, outcome.verb,
                       outcome.success ? "ok" : "error", outcome.code, outcome.seconds);
}

std::optional<Outcome> parse_outcome_line(std::string_view line) {
    if (line.size() > kOutcomeLineMaxBytes) {
        return std::nullopt;
    }
    const auto fields = util::split(line, ' ');
    if (fields.size() != 5 || fields[0] != kLineVersion || !known_verb(fields[1]) ||
        (fields[2] != "ok" && fields[2] != "error")) {
        return std::nullopt;
    }
    Outcome out;
    out.verb = std::string(fields[1]);
    out.success = fields[2] == "ok";
    const auto code = fields[3];
    const auto [code_end, code_ec] =
        std::from_chars(code.data(), code.data() + code.size(), out.code);
    const auto seconds = fields[4];
    const auto [sec_end, sec_ec] =
        std::from_chars(seconds.data(), seconds.data() + seconds.size(), out.seconds);
    if (code_ec != std::errc() || code_end != code.data() + code.size() || out.code < 0 ||
        out.code > 1000 || sec_ec != std::errc() || sec_end != seconds.data() + seconds.size() ||
        !(out.seconds >= 0) || out.seconds > 86400 || out.success != (out.code == 0)) {
        return std::nullopt;
    }
    return out;
}

void append_outcome(const std::string& cni_dir, const Outcome& outcome) noexcept {
    try {
        const auto line = format_outcome_line(outcome);
        if (line.size() > kOutcomeLineMaxBytes) {
            return;
        }
        const auto path = cni_dir + "/" + kOutcomeLogName;
        const util::UniqueFd fd(
            ::open(path.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                   kOutcomeLogMode));

        struct stat st {};

        if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
            static_cast<std::size_t>(st.st_size) >= kOutcomeLogMaxBytes) {
            return;
        }
        // One write of less than PIPE_BUF bytes with O_APPEND: whole, never interleaved. A
        // short or failed write loses the line, which is all a metric may cost.
        [[maybe_unused]] const ssize_t written = ::write(fd.get(), line.data(), line.size());
    } catch (...) {
        // Out of memory formatting one line: drop it.
    }
}

OutcomeTail::OutcomeTail(std::string path) : path_(std::move(path)) {}

void OutcomeTail::read_new(int fd, std::size_t& offset, std::string& partial,
                           std::vector<Outcome>& out) {
    std::array<char, 16384> buf{};
    for (;;) {
        const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        offset += static_cast<std::size_t>(n);
        partial.append(buf.data(), static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto nl = partial.find('\n'); nl != std::string::npos;
             nl = partial.find('\n', start)) {
            if (auto outcome =
                    parse_outcome_line(std::string_view(partial).substr(start, nl - start))) {
                out.push_back(std::move(*outcome));
            } else {
                ++malformed_;
            }
            start = nl + 1;
        }
        partial.erase(0, start);
        if (partial.size() > kOutcomeLineMaxBytes) {
            // No newline within a line's bound: not ours. Skip it.
            ++malformed_;
            partial.clear();
        }
    }
}

std::vector<Outcome> OutcomeTail::poll() {
    std::vector<Outcome> out;
    if (draining_.valid()) {
        read_new(draining_.get(), draining_offset_, draining_partial_, out);
        draining_.reset();
        draining_partial_.clear();
    }
    if (fd_.valid() && !same_file(fd_.get(), path_)) {
        // Rotated or removed by somebody else: finish this inode on the next poll.
        read_new(fd_.get(), offset_, partial_, out);
        draining_ = std::move(fd_);
        draining_offset_ = offset_;
        draining_partial_ = std::move(partial_);
        partial_.clear();
        offset_ = 0;
    }
    if (!fd_.valid()) {
        fd_ = open_for_reading(path_);
        offset_ = 0;

        struct stat st {};

        if (fd_.valid() && !started_ && ::fstat(fd_.get(), &st) == 0) {
            offset_ = static_cast<std::size_t>(st.st_size);  // history before the agent started
        }
        started_ = true;
        if (!fd_.valid()) {
            return out;
        }
    }
    read_new(fd_.get(), offset_, partial_, out);
    if (offset_ >= kOutcomeLogRotateBytes) {
        const auto rotated = path_ + ".1";
        if (::rename(path_.c_str(), rotated.c_str()) == 0) {
            draining_ = std::move(fd_);
            draining_offset_ = offset_;
            draining_partial_ = std::move(partial_);
            partial_.clear();
            offset_ = 0;
        }
    }
    return out;
}

}  // namespace splitnet::agent
