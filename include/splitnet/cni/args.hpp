#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace splitnet::cni {

/// CNI_ARGS "K=V;K2=V2" as ordered pairs.
using ArgPairs = std::vector<std::pair<std::string, std::string>>;

/// Splits like libcni's LoadArgs: each pair must have exactly one '='. Throws
/// Error(InvalidEnvironment) `ARGS: invalid pair "..."`. An empty string gives no pairs.
ArgPairs parse_cni_args(std::string_view text);

/// Validates keys against the ones a plugin knows (case-sensitive, like the Go struct fields).
/// Unknown keys are an error `ARGS: unknown args [...]` unless IgnoreUnknown=1|true|True.
void check_known_args(const ArgPairs& pairs, const std::vector<std::string_view>& known);

/// Value of the last pair with this key, or "" when absent.
std::string arg_value(const ArgPairs& pairs, std::string_view key);

std::string join_cni_args(const ArgPairs& pairs);

}  // namespace splitnet::cni
