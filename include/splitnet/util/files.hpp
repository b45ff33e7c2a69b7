#pragma once

// The few filesystem operations the state store and the installer need, with errors turned into
// cni::Error(IoFailure) naming the path.

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace splitnet::util {

/// Throws cni::Error(IoFailure) "cannot <what> <path>: <strerror(err)>".
[[noreturn]] void io_error(std::string_view what, const std::string& path, int err);

/// mkdir -p; directories it creates get `mode`. Existing ones are left as they are.
void make_dirs(const std::string& dir, mode_t mode);

/// Whether a read follows a symlink at the end of the path.
enum class Symlinks {
    Refuse,  ///< state files: a planted link is never followed
    Follow,  ///< the installer's inputs: service account files and /proc/self/exe are links
};

/// The whole file; nullopt when it does not exist. A file longer than `max_bytes` is an
/// IoFailure, detected without reading more than one buffer past the limit.
std::optional<std::string> read_file_if_exists(
    const std::string& path, Symlinks symlinks = Symlinks::Refuse,
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

/// Whether write_file_atomic also survives a power loss.
enum class Durability {
    /// No fsync, and an existing file is replaced by exchanging it with the temp file
    /// (renameat2 RENAME_EXCHANGE), then unlinking the old content: as atomic as a rename, but
    /// ext4 does not force the new file's blocks to disk as it does on a rename over an
    /// existing file (auto_da_alloc: 30-300 us per save here, on the ADD's critical path).
    /// Right for the state store: what a state file describes lives in a pod netns,
    /// which is memory-only, so after a power loss or kernel crash it no longer exists. A state
    /// file torn by such a crash is set aside as corrupt and DEL replays the configuration
    /// instead, which releases exec'd IPAM leases by container ID just the same. Multus and the
    /// reference IPAM plugins do not fsync their files either, and the two fsyncs cost 5-20 ms
    /// of wall time per ADD.
    Volatile,
    /// fsync of the file before the rename: for what the installer puts on a node (the binary,
    /// its config), which must be whole after a reboot.
    Durable,
};

/// Writes `dir`/`name` so that readers see the old or the new content, never a mix, even when
/// the process is killed: temp file (leading dot) in the same directory, then rename (or, when
/// Volatile, an exchange with the old file). A kill between the exchange and the unlink leaves
/// the old content in the temp file, as a kill before the rename leaves the new content there.
void write_file_atomic(const std::string& dir, const std::string& name, std::string_view content,
                       mode_t mode, Durability durability = Durability::Volatile);

/// Removes the temp files that write_file_atomic of `dir`/`name` leaves when it is killed
/// half-way, best effort. Only for a caller that no other writer of that name can run beside
/// (e.g. under the name's lock): a live write's temp file would go too.
void remove_temp_files_of(const std::string& dir, std::string_view name);

}  // namespace splitnet::util
