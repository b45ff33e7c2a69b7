#include "splitnet/store/state.hpp"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <sys/file.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/store/files.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::store {
namespace {

using nlohmann::json;

constexpr std::string_view kKind = "splitnetState";
constexpr int kVersion = 1;

// Selection keys follow Multus' NetworkSelectionElement so that a state file reads like the
// annotation it came from.
json selection_to_json(const plan::Selection& s) {
    json out = json::object();
    out["name"] = s.name;
    const auto put = [&out](const char* key, const auto& value) {
        if (!value.empty()) {
            out[key] = value;
        }
    };
    put("namespace", s.namespace_);
    put("interface", s.interface);
    put("ips", s.ips);
    put("mac", s.mac);
    put("infiniband-guid", s.infiniband_guid);
    put("deviceID", s.device_id);
    if (!s.port_mappings.is_null()) {
        out["portMappings"] = s.port_mappings;
    }
    if (!s.bandwidth.is_null()) {
        out["bandwidth"] = s.bandwidth;
    }
    if (!s.cni_args.is_null()) {
        out["cni-args"] = s.cni_args;
    }
    if (s.default_route) {
        out["default-route"] = *s.default_route;
    }
    return out;
}

plan::Selection selection_from_json(const json& doc) {
    plan::Selection s;
    s.name = doc.at("name").get<std::string>();
    s.namespace_ = doc.value("namespace", "");
    s.interface = doc.value("interface", "");
    s.ips = doc.value("ips", std::vector<std::string>{});
    s.mac = doc.value("mac", "");
    s.infiniband_guid = doc.value("infiniband-guid", "");
    s.device_id = doc.value("deviceID", "");
    s.port_mappings = doc.value("portMappings", json());
    s.bandwidth = doc.value("bandwidth", json());
    s.cni_args = doc.value("cni-args", json());
    if (doc.contains("default-route")) {
        s.default_route = doc.at("default-route").get<std::vector<std::string>>();
    }
    return s;
}

json attachment_to_json(const AttachmentState& state) {
    const auto& a = state.attachment;
    json out = {
        {"network", a.network},
        {"ifname", a.ifname},
        // A string, not a parsed object: the bytes DEL sends must be the bytes ADD sent.
        {"config", a.config},
        {"runtimeConfig", a.runtime_config},
        {"cniArgs", a.cni_args},
        {"isPrimary", a.is_primary},
    };
    if (a.selection) {
        out["selection"] = selection_to_json(*a.selection);
    }
    out["result"] = state.result;
    return out;
}

AttachmentState attachment_from_json(const json& doc) {
    AttachmentState state;
    auto& a = state.attachment;
    a.network = doc.at("network").get<std::string>();
    a.ifname = doc.at("ifname").get<std::string>();
    a.config = doc.at("config").get<std::string>();
    a.runtime_config = doc.value("runtimeConfig", json::object());
    if (!a.runtime_config.is_object()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure, "state: runtimeConfig is not an object");
    }
    a.cni_args = doc.value("cniArgs", "");
    a.is_primary = doc.value("isPrimary", false);
    if (doc.contains("selection")) {
        a.selection = selection_from_json(doc.at("selection"));
    }
    state.result = doc.value("result", json());
    return state;
}

}  // namespace

json state_to_json(const State& state) {
    json attachments = json::array();
    for (const auto& a : state.attachments) {
        attachments.push_back(attachment_to_json(a));
    }
    return {
        {"kind", kKind},
        {"version", kVersion},
        {"containerId", state.container_id},
        {"ifname", state.ifname},
        {"cniVersion", state.cni_version},
        {"netns", state.netns},
        {"phase", state.phase == Phase::Added ? "added" : "adding"},
        {"addTag", state.add_tag},
        {"attachments", std::move(attachments)},
    };
}

State state_from_json(const json& doc) {
    const auto bad = [](const std::string& why) {
        return cni::Error(cni::ErrorCode::DecodingFailure,
                          fmt::format("invalid splitnet state: {}", why));
    };
    try {
        if (!doc.is_object() || doc.value("kind", "") != kKind) {
            throw bad(fmt::format("kind must be \"{}\"", kKind));
        }
        if (!doc.contains("version") || doc.at("version") != kVersion) {
            throw bad(fmt::format("version {} is not {}",
                                  util::dump_json(doc.value("version", json())), kVersion));
        }
        State state;
        state.container_id = doc.at("containerId").get<std::string>();
        state.cni_version = doc.at("cniVersion").get<std::string>();
        state.netns = doc.value("netns", "");
        // Files of the previous release have neither: they were written for the runtime ifname
        // their primary got, and only once delegates could no longer be running.
        const auto phase = doc.value("phase", "added");
        if (phase != "added" && phase != "adding") {
            throw bad(fmt::format("unknown phase \"{}\"", phase));
        }
        state.phase = phase == "added" ? Phase::Added : Phase::Adding;
        state.add_tag = doc.value("addTag", "");
        const auto& attachments = doc.at("attachments");
        if (!attachments.is_array()) {
            throw bad("attachments is not a list");
        }
        for (const auto& a : attachments) {
            state.attachments.push_back(attachment_from_json(a));
        }
        state.ifname = doc.value("ifname", "");
        if (state.ifname.empty()) {
            for (const auto& a : state.attachments) {
                if (a.attachment.is_primary) {
                    state.ifname = a.attachment.ifname;
                    break;
                }
            }
        }
        return state;
    } catch (const json::exception& e) {
        throw bad(e.what());
    }
}

namespace {

constexpr std::string_view kStateSuffix = ".json";
constexpr std::string_view kLockSuffix = ".lock";
constexpr std::string_view kCorruptSuffix = ".corrupt";
constexpr char kKeySeparator = '@';  // never in a container ID (cni::is_valid_identifier)
constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

bool same_file(int fd, const std::string& path) {
    struct stat by_fd {};

    struct stat by_path {};

    return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
           by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

int flock_retrying(int fd, int operation) {
    int rc = 0;
    do {
        rc = ::flock(fd, operation);
    } while (rc != 0 && errno == EINTR);
    return rc;
}

// Files whose loss costs nothing but evidence or a lock nobody holds: logged, never thrown.
void unlink_quietly(const std::string& path) {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT || errno == ENOTDIR) {
        return;
    }
    const int err = errno;

    struct stat st {};

    if (::lstat(path.c_str(), &st) == 0) {
        spdlog::warn("cannot remove {}: {}", path, std::system_category().message(err));
    }
}

// A state file must go; one that does not exist is gone already (a read-only file system reports
// EROFS for that too, and DEL without state must still succeed there).
void unlink_state_file(const std::string& path) {
    if (::unlink(path.c_str()) == 0 || errno == ENOENT || errno == ENOTDIR) {
        return;
    }
    const int err = errno;

    struct stat st {};

    if (::lstat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
        return;
    }
    util::io_error("remove", path, err);
}

}  // namespace

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {}

std::string StateStore::path_of(const StateKey& key, std::string_view suffix) const {
    detail::require_attachment_key(key.container_id, key.ifname);
    return fmt::format("{}/{}{}{}{}", dir_, key.container_id, kKeySeparator, key.ifname, suffix);
}

std::string StateStore::legacy_path_of(std::string_view container_id,
                                       std::string_view suffix) const {
    detail::require_container_id(container_id);
    return fmt::format("{}/{}{}", dir_, container_id, suffix);
}

util::UniqueFd StateStore::lock(const StateKey& key, LockMode mode) const {
    const std::string path = path_of(key, kLockSuffix);
    if (mode == LockMode::Create) {
        util::make_dirs(dir_, kDirMode);
    } else {
        try {
            util::make_dirs(dir_, kDirMode);
        } catch (const cni::Error& e) {
            spdlog::warn("{}", e.what());  // nothing can be stored there: nothing to exclude
        }
    }
    for (;;) {
        util::UniqueFd fd(
            ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kFileMode));
        if (!fd.valid() && mode == LockMode::BestEffort) {
            // A read-only or full file system must not keep DEL from calling the delegates
            // (their leases would leak): an existing lock file can be locked read-only, and
            // where none can be created no ADD can write state either.
            const int create_errno = errno;
            fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
            if (!fd.valid()) {
                spdlog::warn("cannot create lock file {} ({}); going on without it", path,
                             std::system_category().message(create_errno));
                return {};
            }
        }
        if (!fd.valid()) {
            util::io_error("open lock file", path, errno);
        }
        if (flock_retrying(fd.get(), LOCK_EX) != 0) {
            util::io_error("lock", path, errno);
        }
        // remove() unlinks the lock file before releasing it: a lock on an unlinked inode
        // excludes nobody, so start over on the current file.
        if (same_file(fd.get(), path)) {
            return fd;
        }
    }
}

std::optional<State> StateStore::load_file(const std::string& path, const std::string& aside,
                                           std::string_view container_id) {
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
    // the configuration, and a retried ADD must be able to write a fresh state. A read-only
    // directory keeps it in place: DEL goes on from the configuration all the same.
    if (::rename(path.c_str(), aside.c_str()) != 0) {
        spdlog::warn("state file {} is unreadable ({}); cannot move it aside: {}", path, problem,
                     std::system_category().message(errno));
        return std::nullopt;
    }
    spdlog::warn("state file {} is unreadable ({}); moved to {}", path, problem, aside);
    return std::nullopt;
}

std::optional<State> StateStore::load(const StateKey& key) const {
    auto state =
        load_file(path_of(key, kStateSuffix), path_of(key, kCorruptSuffix), key.container_id);
    if (state) {
        if (state->ifname == key.ifname) {
            return state;
        }
        spdlog::warn("state file of {}{}{} names ifname \"{}\"; ignoring it", key.container_id,
                     kKeySeparator, key.ifname, state->ifname);
        return std::nullopt;
    }
    // The previous release kept one file per container, written for the ifname its primary
    // got: it is this attachment's only when that is the runtime's ifname now.
    auto legacy = load_file(legacy_path_of(key.container_id, kStateSuffix),
                            legacy_path_of(key.container_id, kCorruptSuffix), key.container_id);
    if (legacy && legacy->ifname == key.ifname) {
        legacy->from_legacy_file = true;
        return legacy;
    }
    return std::nullopt;
}

void StateStore::save(const State& state) const {
    const std::string path = path_of(state.key(), kStateSuffix);
    util::make_dirs(dir_, kDirMode);
    util::write_file_atomic(dir_, path.substr(dir_.size() + 1),
                            util::dump_json(state_to_json(state), 2), kFileMode);
}

void StateStore::remove(const StateKey& key, bool legacy) const {
    const std::string path = path_of(key, kStateSuffix);
    unlink_state_file(path);
    // A save killed between its two system calls (see write_file_atomic) left a temp file;
    // the caller holds the key's lock, so no save of this key runs now.
    util::remove_temp_files_of(dir_, path.substr(dir_.size() + 1));
    if (legacy) {
        unlink_state_file(legacy_path_of(key.container_id, kStateSuffix));
    }
    // The attachment is gone: so is the evidence of a corrupt state file (ours, or the previous
    // release's for this container).
    unlink_quietly(path_of(key, kCorruptSuffix));
    unlink_quietly(legacy_path_of(key.container_id, kCorruptSuffix));
    // The previous release's lock file: only when nobody holds it (the previous release
    // re-checks the inode after locking, as lock() does).
    const std::string old_lock = legacy_path_of(key.container_id, kLockSuffix);
    if (const util::UniqueFd fd(::open(old_lock.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        fd.valid() && flock_retrying(fd.get(), LOCK_EX | LOCK_NB) == 0 &&
        same_file(fd.get(), old_lock)) {
        unlink_quietly(old_lock);
    }
}

void StateStore::remove_lock_file(const StateKey& key) const {
    // Under our lock: a waiter then locks the unlinked inode, sees it is no longer the file at
    // the path and starts over on a fresh one (see lock()).
    unlink_quietly(path_of(key, kLockSuffix));
}

std::vector<StateKey> StateStore::list() const {
    std::vector<StateKey> keys;
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_.c_str()), &::closedir);
    if (!dir) {
        if (errno == ENOENT) {
            return keys;
        }
        util::io_error("list", dir_, errno);
    }
    std::vector<std::string> legacy_ids;
    // glibc readdir is safe on a stream no other thread uses; readdir_r is deprecated.
    while (const dirent* entry = ::readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe)
        const std::string_view name = entry->d_name;
        if (name.size() <= kStateSuffix.size() || !name.ends_with(kStateSuffix)) {
            continue;  // lock files, files set aside as corrupt, anything else
        }
        const auto stem = name.substr(0, name.size() - kStateSuffix.size());
        const auto at = stem.find(kKeySeparator);
        if (at == std::string_view::npos) {
            if (cni::is_valid_identifier(stem)) {  // temp files start with '.'
                legacy_ids.emplace_back(stem);
            }
            continue;
        }
        StateKey key{std::string(stem.substr(0, at)), std::string(stem.substr(at + 1))};
        if (cni::is_valid_identifier(key.container_id) &&
            cni::interface_name_problem(key.ifname).empty()) {
            keys.push_back(std::move(key));
        }
    }
    for (const auto& id : legacy_ids) {
        // The ifname is inside; an unreadable file is left to DEL (which sets it aside).
        try {
            const auto content = util::read_file_if_exists(
                legacy_path_of(id, kStateSuffix), util::Symlinks::Refuse, util::kMaxResultBytes);
            if (content) {
                auto state = state_from_json(util::parse_json_bounded(
                    *content, "state file", {util::kMaxResultBytes, util::kMaxComposedJsonDepth}));
                if (state.container_id == id && !state.ifname.empty()) {
                    keys.push_back({id, std::move(state.ifname)});
                }
            }
        } catch (const std::exception& e) {
            spdlog::warn("skipping state file of container {}: {}", id, e.what());
        }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

}  // namespace splitnet::store
