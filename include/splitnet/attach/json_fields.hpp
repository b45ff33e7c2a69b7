#pragma once

// Typed field access for plugin configs, with the error prefix of the Go decoder that reads the
// document ("failed to load netconf", ...). Private to attach/.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/cni/result.hpp"

namespace splitnet::attach::detail {

/// Parses the stdin document; throws Error(999) "<prefix>: <parser message>" when it is not a
/// JSON object.
nlohmann::json parse_object(std::string_view text, std::string_view prefix);

/// "" when absent or null; throws Error(999) "<prefix>: field \"key\" must be a string".
std::string string_field(const nlohmann::json& obj, std::string_view key, std::string_view prefix);

int int_field(const nlohmann::json& obj, std::string_view key, std::string_view prefix);

bool bool_field(const nlohmann::json& obj, std::string_view key, std::string_view prefix);

std::vector<std::string> string_list_field(const nlohmann::json& obj, std::string_view key,
                                           std::string_view prefix);

/// The object at `key`, or null when absent/null; throws when it is another type.
const nlohmann::json* object_field(const nlohmann::json& obj, std::string_view key,
                                   std::string_view prefix);

/// A types.DNS object (nameservers, domain, search, options).
cni::Dns parse_dns(const nlohmann::json* dns, std::string_view prefix);

}  // namespace splitnet::attach::detail
