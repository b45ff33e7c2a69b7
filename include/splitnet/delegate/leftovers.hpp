#pragma once

// Kill-safety: what a SIGKILLed ADD may leave running. Every delegate of one ADD (and whatever it
// starts in turn, e.g. ptp's host-local, which the parent-death signal does not reach) carries
// SPLITNET_ADD_TAG=<random tag> in its environment; the tag is in the state file before the
// first delegate starts. DEL of a state whose ADD never finished stops every process carrying
// the tag, and waits until they are gone, before it calls the delegates' DEL: otherwise a
// delegate could finish its ADD after the DEL and leak its lease or link for good.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace splitnet::delegate {

inline constexpr std::string_view kAddTagVariable = "SPLITNET_ADD_TAG";

/// 32 hex digits from getrandom(): unguessable, so a process carrying it provably descends from
/// the ADD that chose it (whatever its pid, which may have been reused since).
std::string new_add_tag();

/// Whether a /proc/<pid>/environ block ("K=V\0K=V\0...") holds SPLITNET_ADD_TAG=<tag>. Pure.
bool environment_has_tag(std::string_view environ_block, std::string_view tag);

/// SIGKILLs every process of this machine whose environment carries the tag and waits until each
/// has exited, repeating until a scan of /proc finds none (a process may have forked meanwhile).
/// A process is held by a pidfd before its environment is read and signalled through it, so a
/// pid reused in between is never hit. Returns how many processes were killed. Throws
/// Error(TryAgainLater) when some are still alive after `bound`.
std::size_t stop_tagged_processes(std::string_view tag, std::chrono::milliseconds bound);

}  // namespace splitnet::delegate
