#pragma once

#include <array>
#include <string>
#include <string_view>

namespace splitnet::cni {

/// Every spec version splitnet speaks, oldest first (results are converted between them).
inline constexpr std::array<std::string_view, 7> kSupportedVersions = {
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kCurrentVersion = "1.1.0";

struct Version {
    int major = 0;
    int minor = 1;
    int patch = 0;
    // NOLINTNEXTLINE(modernize-use-nullptr): false positive on a defaulted <=> in clang-tidy 14
    auto operator<=>(const Version&) const = default;
};

/// "" counts as 0.1.0 (libcni create.DecodeVersion). Throws Error(DecodingFailure) on garbage.
Version parse_version(std::string_view text);

/// a >= b, both parsed with parse_version.
bool version_at_least(std::string_view a, std::string_view b);

bool is_supported_version(std::string_view text);

/// The supported list as a JSON-ready comma list, for error details.
std::string supported_versions_text();

/// The VERSION verb's answer: {"cniVersion": current, "supportedVersions": [...]}, serialised.
std::string version_document();

}  // namespace splitnet::cni
