#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/plan/plan.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::store {

struct AttachmentState {
    plan::Attachment attachment;
    nlohmann::json result;  ///< the attachment's own ADD result; null until it succeeded
};

/// Where an ADD got to: DEL must first stop what a killed ADD left running.
enum class Phase {
    Adding,  ///< ADD in flight, killed, or rolled back incompletely: delegates may still run
    Added,   ///< ADD returned its result; nothing of it runs any more
};

/// One attachment as the runtime keys it: container ID and CNI_IFNAME (the CNI spec's key is
/// (network name, container ID, ifname), and the meta network name is fixed by the node config).
struct StateKey {
    std::string container_id;
    std::string ifname;

    bool operator==(const StateKey&) const = default;
    // NOLINTNEXTLINE(modernize-use-nullptr): false positive on a defaulted <=> in clang-tidy 14
    auto operator<=>(const StateKey&) const = default;
};

/// What ADD decided and did for one attachment of the runtime; written before the first side
/// effect.
struct State {
    std::string container_id;
    std::string ifname;       ///< the runtime's CNI_IFNAME (the primary's ifname in old files)
    std::string cni_version;  ///< the meta config's version
    std::string netns;
    Phase phase = Phase::Adding;
    /// Random per ADD, exported to every delegate (and inherited by its children) as
    /// SPLITNET_ADD_TAG: the proof that a process still running belongs to this ADD.
    std::string add_tag;
    std::vector<AttachmentState> attachments;
    /// Not stored: load() found it in the previous release's <id>.json (migration).
    bool from_legacy_file = false;

    [[nodiscard]] StateKey key() const { return {container_id, ifname}; }
};

nlohmann::json state_to_json(const State& state);
State state_from_json(const nlohmann::json& doc);  ///< throws Error(DecodingFailure)

/// How lock() behaves when the directory cannot be written (read-only or full file system).
enum class LockMode {
    Create,      ///< ADD: the lock file must exist; failures throw Error(IoFailure)
    BestEffort,  ///< DEL/GC: lock an existing file read-only, else go on without a lock
};

/// One file per attachment, `dir`/<containerID>@<ifname>.json (dir mode 0700), written
/// atomically (temp + rename, 0600). '@' never occurs in a container ID, so the name splits
/// unambiguously. Callers hold lock() of the same key for the whole verb. Files of the previous
/// release (<containerID>.json, one per container) are still read for the runtime ifname they
/// were written for.
class StateStore {
public:
    explicit StateStore(std::string dir);

    /// Exclusive flock on <dir>/<key>.lock, released by the returned fd's destruction (an
    /// invalid fd in BestEffort mode when no lock file can be had: nobody can write state
    /// there either). The file is removed by remove() under the lock; a waiter that then gets
    /// the unlinked inode notices and starts over on the path's current file.
    util::UniqueFd lock(const StateKey& key, LockMode mode = LockMode::Create) const;

    /// nullopt when absent. A corrupt file is logged, renamed aside (<key>.corrupt) and reported
    /// as absent so that DEL can still rebuild from the config (when the directory is read-only
    /// it stays where it is).
    std::optional<State> load(const StateKey& key) const;
    void save(const State& state) const;

    /// Once the attachment is gone, under the key's lock: its state file (and the previous
    /// release's <id>.json when `legacy`), the temp files of a save that was killed, the
    /// .corrupt files of the key and the previous release's lock file when nobody holds it.
    /// Only a failure to remove a state file throws: the others are logged.
    void remove(const StateKey& key, bool legacy = false) const;

    /// Unlinks <key>.lock. Only while holding lock(key), as the last thing done under it, and
    /// only when no state of the key remains (a waiter then starts over on a fresh file).
    /// Failures are logged.
    void remove_lock_file(const StateKey& key) const;
    std::vector<StateKey> list() const;  ///< keys with a state file (old files: their ifname)

    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
    std::string path_of(const StateKey& key, std::string_view suffix) const;
    std::string legacy_path_of(std::string_view container_id, std::string_view suffix) const;
    static std::optional<State> load_file(const std::string& path, const std::string& aside,
                                          std::string_view container_id);
    std::string dir_;
};

}  // namespace splitnet::store
