#pragma once

// Small text helpers shared by the config, IPAM, annotation and exec parsers.

#include <string_view>
#include <vector>

namespace splitnet::util {

/// `text` without leading and trailing ASCII white space (" \t\n\v\f\r", std::isspace in the
/// C locale; Go's strings.TrimSpace agrees on ASCII).
std::string_view trim(std::string_view text);

/// ASCII case-insensitive equality: config keys are matched the way Go's encoding/json and
/// Multus match them.
bool iequals(std::string_view a, std::string_view b);

/// The pieces between `separator`s, untrimmed, empty ones included: "a,,b" gives "a", "", "b"
/// and "" gives one empty piece (callers decide what an empty piece means).
std::vector<std::string_view> split(std::string_view text, char separator);

}  // namespace splitnet::util
