#pragma once

#include <string>

#include <sys/types.h>

namespace splitnet::testutil {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit. The
/// one scratch directory of every test binary (unit, privileged, the fake API server).
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ScratchDir(ScratchDir&&) = delete;
    ScratchDir& operator=(ScratchDir&&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }

    [[nodiscard]] std::string operator/(const std::string& name) const {
        return path_ + "/" + name;
    }

    /// Writes `content` to path()/relative, creating parent directories; returns the full path.
    std::string write(const std::string& relative, const std::string& content) const;

private:
    std::string path_;
};

/// The whole file, byte for byte; throws std::runtime_error when it cannot be read.
std::string read_file(const std::string& path);

/// Replaces the file with `content` and gives it `mode`; throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);

}  // namespace splitnet::testutil
