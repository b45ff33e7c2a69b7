#pragma once

// Private to src/store: the few filesystem operations the stores need, with errors turned into
// cni::Error(IoFailure) naming the path.

#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace splitnet::store::detail {

/// Throws cni::Error(IoFailure) "cannot <what> <path>: <strerror(err)>".
[[noreturn]] void io_error(std::string_view what, const std::string& path, int err);

/// mkdir -p; directories it creates get `mode`. Existing ones are left as they are.
void make_dirs(const std::string& dir, mode_t mode);

/// The whole file; nullopt when it does not exist. Symlinks are not followed.
std::optional<std::string> read_file_if_exists(const std::string& path);

/// Writes `dir`/`name` so that readers see the old or the new content, never a mix, even when
/// the process is killed: temp file in the same directory, then rename.
///
/// No fsync, on purpose (it cost 5-20 ms of wall time per ADD). What the state describes lives
/// in a pod netns, which is memory-only: after a power loss or kernel crash it no longer exists.
/// A state file torn by such a crash is set aside as corrupt and DEL replays the configuration
/// instead, which releases exec'd IPAM leases by container ID just the same. Multus and the
/// reference IPAM plugins do not fsync their files either.
void write_file_atomic(const std::string& dir, const std::string& name, std::string_view content,
                       mode_t mode);

/// Throws Error(InvalidEnvironment, "invalid characters in containerID", id) unless the id is a
/// cni::is_valid_identifier, which also makes it a safe file name (no '/', never "." or "..").
void require_container_id(std::string_view id);

}  // namespace splitnet::store::detail
