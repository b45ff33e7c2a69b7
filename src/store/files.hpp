#pragma once

// Private to src/store: the container-ID check every store applies before using an ID as a file
// name. The file operations themselves are in util/files.hpp.

#include <string_view>

namespace splitnet::store::detail {

/// Throws Error(InvalidEnvironment, "invalid characters in containerID", id) unless the id is a
/// cni::is_valid_identifier, which also makes it a safe file name (no '/', never "." or "..").
void require_container_id(std::string_view id);

}  // namespace splitnet::store::detail
