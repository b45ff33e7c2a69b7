#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace splitnet::agent {

/// Pure: the JSON patch (RFC 6902, application/json-patch+json) that removes every taint with
/// `key` from `node` (a Node as read), or nullopt when it has none. Each removal is preceded by a
/// "test" of the exact taint at that index, and removals go from the last index to the first, so
/// a concurrent change to the taint list (another controller adding or removing a taint) makes
/// the API refuse the whole patch instead of removing the wrong taint or losing the change.
std::optional<nlohmann::json> remove_taint_patch(const nlohmann::json& node, std::string_view key);

/// REST path of a Node; the name must already be DNS-1123.
std::string node_path(std::string_view node);

}  // namespace splitnet::agent
