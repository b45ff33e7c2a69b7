#pragma once

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

/// What ADD decided and did for one container; written before the first side effect.
struct State {
    std::string container_id;
    std::string cni_version;  ///< the meta config's version
    std::string netns;
    std::vector<AttachmentState> attachments;
};

nlohmann::json state_to_json(const State& state);
State state_from_json(const nlohmann::json& doc);  ///< throws Error(DecodingFailure)

/// One file per container, `dir`/<id>.json (dir mode 0700), written atomically (temp + fsync +
/// rename, 0600). Callers hold lock() for the whole verb. Lock files (<id>.lock) are kept.
class StateStore {
public:
    explicit StateStore(std::string dir);

    /// Exclusive flock on <dir>/<id>.lock, released by the returned fd's destruction.
    util::UniqueFd lock(std::string_view container_id) const;

    /// nullopt when absent. A corrupt file is logged, renamed aside (<id>.corrupt) and reported
    /// as absent so that DEL can still rebuild from the config.
    std::optional<State> load(std::string_view container_id) const;
    void save(const State& state) const;
    void remove(std::string_view container_id) const;  ///< no error when absent
    std::vector<std::string> list() const;             ///< container IDs with a state file

    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

private:
    std::string path_of(std::string_view container_id) const;
    std::string dir_;
};

}  // namespace splitnet::store
