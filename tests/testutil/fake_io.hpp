#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "splitnet/verbs/dispatch.hpp"

namespace splitnet::testutil {

/// A process outside world for verbs::run: the environment from `env`, `stdin_text` on stdin,
/// stdout appended to `out`, stderr dropped. `env` and `out` must outlive the returned Io.
inline verbs::Io fake_io(const std::map<std::string, std::string>& env, std::string stdin_text,
                         std::string& out) {
    verbs::Io io;
    io.getenv = [&env](std::string_view key) -> std::optional<std::string> {
        const auto it = env.find(std::string(key));
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    io.read_stdin = [text = std::move(stdin_text)] { return text; };
    io.write_stdout = [&out](std::string_view data) { out += data; };
    io.write_stderr = [](std::string_view) {};
    return io;
}

}  // namespace splitnet::testutil
