#include "splitnet/app/process_io.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::app {
namespace {

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // nowhere left to report it
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string read_stdin() {
    std::string out;
    std::array<char, 65536> buf{};
    for (;;) {
        const auto n = ::read(STDIN_FILENO, buf.data(), buf.size());
        if (n == 0) {
            return out;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw cni::Error(
                cni::ErrorCode::IoFailure,
                fmt::format("error reading from stdin: {}", std::system_category().message(errno)));
        }
        out.append(buf.data(), static_cast<std::size_t>(n));
        if (out.size() > verbs::kMaxStdinBytes) {
            throw cni::Error(
                cni::ErrorCode::IoFailure, "stdin is too large",
                fmt::format("the configuration exceeds {} bytes", verbs::kMaxStdinBytes));
        }
    }
}

}  // namespace

verbs::Io process_io() {
    verbs::Io io;
    io.getenv = [](std::string_view key) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(key).c_str());  // NOLINT(concurrency-mt-unsafe)
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    };
    io.read_stdin = read_stdin;
    io.write_stdout = [](std::string_view data) { write_all(STDOUT_FILENO, data); };
    io.write_stderr = [](std::string_view data) { write_all(STDERR_FILENO, data); };
    return io;
}

}  // namespace splitnet::app
