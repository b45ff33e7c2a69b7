#include "splitnet/cni/version.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::cni {
namespace {

bool parse_number(std::string_view text, int& out) {
    if (text.empty() || text.size() > 6) {
        return false;
    }
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && out >= 0;
}

}  // namespace

Version parse_version(std::string_view text) {
    if (text.empty()) {
        return Version{0, 1, 0};
    }
    Version version;
    const std::array<int*, 3> parts = {&version.major, &version.minor, &version.patch};
    std::size_t start = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const std::size_t dot = text.find('.', start);
        const bool last = i == 2;
        if ((dot == std::string_view::npos) != last) {
            throw Error(ErrorCode::DecodingFailure, fmt::format("invalid version \"{}\"", text),
                        "a version has the form MAJOR.MINOR.PATCH");
        }
        const auto part = text.substr(start, last ? std::string_view::npos : dot - start);
        if (!parse_number(part, *parts[i])) {
            throw Error(ErrorCode::DecodingFailure, fmt::format("invalid version \"{}\"", text),
                        "a version has the form MAJOR.MINOR.PATCH");
        }
        start = dot + 1;
    }
    return version;
}

bool version_at_least(std::string_view a, std::string_view b) {
    return parse_version(a) >= parse_version(b);
}

bool is_supported_version(std::string_view text) {
    return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), text) !=
           kSupportedVersions.end();
}

std::string supported_versions_text() {
    return fmt::format("[{}]", fmt::join(kSupportedVersions, " "));
}

std::string version_document() {
    nlohmann::json doc = {{"cniVersion", std::string(kCurrentVersion)},
                          {"supportedVersions", nlohmann::json::array()}};
    for (const auto version : kSupportedVersions) {
        doc["supportedVersions"].push_back(std::string(version));
    }
    return util::dump_json(doc);
}

}  // namespace splitnet::cni
