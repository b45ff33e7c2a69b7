#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "splitnet/util/unique_fd.hpp"

namespace splitnet::agent {

/// How CNI verb outcomes get from the short-lived plugin to the long-running agent: the plugin
/// appends one line per ADD/DEL/CHECK to <cniDir>/outcomes.log (one write(2) of a line shorter
/// than PIPE_BUF on an O_APPEND fd, so concurrent plugins never interleave and no lock is
/// taken), and the agent tails the file into counters and histograms. The agent rotates the
/// file; the plugin stops appending when it is over kOutcomeLogMaxBytes (no agent running), so
/// the file stays bounded either way.
inline constexpr const char* kOutcomeLogName = "outcomes.log";
/// The plugin skips its line beyond this size (about 20000 lines).
inline constexpr std::size_t kOutcomeLogMaxBytes = std::size_t{1} << 20;
/// The agent rotates (to outcomes.log.1) once it has read this much.
inline constexpr std::size_t kOutcomeLogRotateBytes = std::size_t{256} << 10;
/// Longest line either side produces or accepts.
inline constexpr std::size_t kOutcomeLineMaxBytes = 128;

/// One verb run by the plugin.
struct Outcome {
    std::string verb;  ///< "ADD", "DEL" or "CHECK"
    bool success = false;
    int code = 0;        ///< the CNI error code; 0 on success
    double seconds = 0;  ///< wall time of the verb, from the node config's parse to the answer
    bool operator==(const Outcome&) const = default;
};

/// "v1 ADD ok 0 0.012345\n". Pure.
std::string format_outcome_line(const Outcome& outcome);

/// The line without its newline; nullopt for anything that format_outcome_line would not have
/// written (unknown version or verb, bad number, too long). Pure.
std::optional<Outcome> parse_outcome_line(std::string_view line);

/// The plugin's side: appends the line to <cni_dir>/outcomes.log (0600, O_NOFOLLOW). Never
/// throws and never blocks on a lock; every failure (no directory, full disk, file over the
/// bound) drops the line silently, as a metric must never fail a verb.
void append_outcome(const std::string& cni_dir, const Outcome& outcome) noexcept;

/// The agent's side: reads the lines appended since the last poll. It starts at the end of an
/// existing file (what happened before the agent started is not counted again after a restart),
/// reads a file created later from its beginning, and rotates the file once it has read
/// kOutcomeLogRotateBytes, draining the old inode once more for lines of plugins that opened
/// it just before the rename. A line that does not parse is counted in `malformed()`.
class OutcomeTail {
public:
    explicit OutcomeTail(std::string path);

    std::vector<Outcome> poll();

    [[nodiscard]] std::uint64_t malformed() const noexcept { return malformed_; }

private:
    void read_new(int fd, std::size_t& offset, std::string& partial, std::vector<Outcome>& out);

    std::string path_;
    util::UniqueFd fd_;
    std::size_t offset_ = 0;
    std::string partial_;
    util::UniqueFd draining_;
    std::size_t draining_offset_ = 0;
    std::string draining_partial_;
    std::uint64_t malformed_ = 0;
    bool started_ = false;
};

}  // namespace splitnet::agent
