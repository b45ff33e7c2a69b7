#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <unistd.h>
#include <utility>

#include <sys/file.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "files.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::store {
namespace {

constexpr std::string_view kStateSuffix = ".json";
constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

bool same_file(int fd, const std::string& path) {
    struct stat by_fd {};

    struct stat by_path {};

    return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
           by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {}

std::string StateStore::path_of(std::string_view container_id) const {
    detail::require_container_id(container_id);
    return fmt::format("{}/{}{}", dir_, container_id, kStateSuffix);
}

util::UniqueFd StateStore::lock(std::string_view container_id) const {
    detail::require_container_id(container_id);
    util::make_dirs(dir_, kDirMode);
    const std::string path = fmt::format("{}/{}.lock", dir_, container_id);
    for (;;) {
        util::UniqueFd fd(
            ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kFileMode));
        if (!fd.valid()) {
            util::io_error("open lock file", path, errno);
        }
        int rc = 0;
        do {
            rc = ::flock(fd.get(), LOCK_EX);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            util::io_error("lock", path, errno);
        }
        // Whoever held the lock may have unlinked the file before releasing it: a lock on an
        // unlinked inode excludes nobody, so start over on the current file.
        if (same_file(fd.get(), path)) {
            return fd;
        }
    }
}

std::optional<State> StateStore::load(std::string_view container_id) const {
    const std::string path = path_of(container_id);
    const auto content =
        util::read_file_if_exists(path, util::Symlinks::Refuse, util::kMaxResultBytes);
    if (!content) {
        return std::nullopt;
    }
    std::string problem;
    try {
        auto state = state_from_json(util::parse_json_bounded(
            *content, "state file", {util::kMaxResultBytes, util::kMaxComposedJsonDepth}));
        if (state.container_id == container_id) {
            return state;
        }
        problem = fmt::format("it belongs to container \"{}\"", state.container_id);
    } catch (const nlohmann::json::exception& e) {
        problem = e.what();
    } catch (const cni::Error& e) {
        problem = e.what();
    }
    // Keep the evidence but get it out of the way: DEL must still be able to clean up from
    // the configuration, and a retried ADD must be able to write a fresh state.
    const std::string aside = fmt::format("{}/{}.corrupt", dir_, container_id);
    if (::rename(path.c_str(), aside.c_str()) != 0) {
        util::io_error("move aside corrupt state file", path, errno);
    }
    spdlog::warn("state file {} is unreadable ({}); moved to {}", path, problem, aside);
    return std::nullopt;
}

void StateStore::save(const State& state) const {
    detail::require_container_id(state.container_id);
    util::make_dirs(dir_, kDirMode);
    util::write_file_atomic(dir_, fmt::format("{}{}", state.container_id, kStateSuffix),
                            util::dump_json(state_to_json(state), 2), kFileMode);
}

void StateStore::remove(std::string_view container_id) const {
    const std::string path = path_of(container_id);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        util::io_error("remove", path, errno);
    }
}

std::vector<std::string> StateStore::list() const {
    std::vector<std::string> ids;
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_.c_str()), &::closedir);
    if (!dir) {
        if (errno == ENOENT) {
            return ids;
        }
        util::io_error("list", dir_, errno);
    }
    // glibc readdir is safe on a stream no other thread uses; readdir_r is deprecated.
    while (const dirent* entry = ::readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe)
        const std::string_view name = entry->d_name;
        if (name.size() <= kStateSuffix.size() || !name.ends_with(kStateSuffix)) {
            continue;  // lock files, files set aside as corrupt, anything else
        }
        const auto id = name.substr(0, name.size() - kStateSuffix.size());
        if (cni::is_valid_identifier(id)) {  // temp files start with '.'
            ids.emplace_back(id);
        }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace splitnet::store
