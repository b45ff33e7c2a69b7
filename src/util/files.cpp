#include "splitnet/util/files.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <string>
#include <system_error>
#include <unistd.h>

#include <sys/stat.h>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/rollback.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::util {
namespace {

void write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            io_error("write", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// write_file_atomic's temporary files for `name`: this prefix and mkostemp's six characters.
// The leading dot keeps them from being taken for a state file (ids start with [a-zA-Z0-9]) or
// a CNI config (the runtime only reads *.conf, *.conflist and *.json).
std::string temp_prefix(std::string_view name) {
    return fmt::format(".{}.tmp.", name);
}

constexpr std::size_t kTempSuffixLength = 6;

}  // namespace

void io_error(std::string_view what, const std::string& path, int err) {
    throw cni::Error(cni::ErrorCode::IoFailure, fmt::format("cannot {} {}: {}", what, path,
                                                            std::system_category().message(err)));
}

void make_dirs(const std::string& dir, mode_t mode) {
    if (dir.empty()) {
        return;
    }

    struct stat st {};

    // Every ADD saves several times into a directory that almost always exists: one syscall.
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return;
    }
    for (std::size_t pos = 1;; ++pos) {
        pos = dir.find('/', pos);
        const std::string prefix = dir.substr(0, pos);
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
            io_error("create directory", prefix, errno);
        }
        if (pos == std::string::npos) {
            break;
        }
    }

    if (::stat(dir.c_str(), &st) != 0) {
        io_error("use directory", dir, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        io_error("use directory", dir, ENOTDIR);
    }
}

std::optional<std::string> read_file_if_exists(const std::string& path, Symlinks symlinks,
                                               std::size_t max_bytes) {
    const int nofollow = symlinks == Symlinks::Refuse ? O_NOFOLLOW : 0;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | nofollow));
    if (!fd.valid()) {
        if (errno == ENOENT || errno == ENOTDIR) {  // ENOTDIR: a path component is a file
            return std::nullopt;
        }
        io_error("open", path, errno);
    }
    std::string content;
    std::array<char, 16384> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            io_error("read", path, errno);
        }
        if (n == 0) {
            return content;
        }
        content.append(buffer.data(), static_cast<std::size_t>(n));
        if (content.size() > max_bytes) {
            throw cni::Error(cni::ErrorCode::IoFailure,
                             fmt::format("cannot read {}: larger than {} bytes", path, max_bytes));
        }
    }
}

void write_file_atomic(const std::string& dir, const std::string& name, std::string_view content,
                       mode_t mode, Durability durability) {
    const std::string target = dir + "/" + name;
    std::string temp = dir + "/" + temp_prefix(name) + std::string(kTempSuffixLength, 'X');
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) {
        io_error("create temporary file for", target, errno);
    }
    Rollback remove_temp([&temp] { ::unlink(temp.c_str()); });
    if (::fchmod(fd.get(), mode) != 0) {
        io_error("chmod", temp, errno);
    }
    write_all(fd.get(), content, temp);
    if (durability == Durability::Durable && ::fsync(fd.get()) != 0) {
        io_error("fsync", temp, errno);
    }
    if (::close(fd.release()) != 0) {
        io_error("close", temp, errno);
    }
    if (durability == Durability::Volatile &&
        ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
        return;  // remove_temp unlinks the old content, now under the temp name
    }
    // Nothing to exchange with yet (ENOENT), or a filesystem without exchange (EINVAL): a
    // plain rename, which reports any other error.
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        io_error("rename into place", target, errno);
    }
    remove_temp.dismiss();
}

void remove_temp_files_of(const std::string& dir, std::string_view name) {
    const std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), &::closedir);
    if (!listing) {
        return;  // no directory: nothing was left in it
    }
    const std::string prefix = temp_prefix(name);
    // glibc readdir is safe on a stream no other thread uses; readdir_r is deprecated.
    while (const dirent* entry = ::readdir(listing.get())) {  // NOLINT(concurrency-mt-unsafe)
        const std::string_view entry_name(entry->d_name);
        if (entry_name.size() == prefix.size() + kTempSuffixLength &&
            entry_name.starts_with(prefix)) {
            ::unlinkat(::dirfd(listing.get()), entry->d_name, 0);  // best effort, as the caller's
        }
    }
}

}  // namespace splitnet::util
