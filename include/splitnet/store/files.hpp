#pragma once

// Private to src/store: the container-ID check every store applies before using an ID as a file
// name. The file operations themselves are in util/files.hpp.

#include <string_view>

namespace splitnet::store::detail {

/// Throws Error(InvalidEnvironment, "invalid characters in containerID", id) unless the id is a
/// cni::is_valid_identifier, which also makes it a safe file name (no '/', never "." or "..").
void require_container_id(std::string_view id);

/// Also the ifname: a valid interface name (cni::interface_name_problem) has no '/' and is never
/// "." or "..", so <id>@<ifname> is one safe file name. Throws Error(InvalidEnvironment).
void require_attachment_key(std::string_view container_id, std::string_view ifname);

}  // namespace splitnet::store::detail
