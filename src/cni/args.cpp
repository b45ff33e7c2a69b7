#include "splitnet/cni/args.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::cni {

ArgPairs parse_cni_args(std::string_view text) {
    ArgPairs pairs;
    if (text.empty()) {
        return pairs;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t semi = text.find(';', start);
        const auto item = text.substr(
            start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || item.find('=', eq + 1) != std::string_view::npos) {
            throw Error(ErrorCode::InvalidEnvironment,
                        fmt::format("ARGS: invalid pair \"{}\"", item),
                        "CNI_ARGS is a ';'-separated list of KEY=VALUE pairs");
        }
        pairs.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
        if (semi == std::string_view::npos) {
            break;
        }
        start = semi + 1;
    }
    return pairs;
}

void check_known_args(const ArgPairs& pairs, const std::vector<std::string_view>& known) {
    const bool ignore_unknown = std::any_of(pairs.begin(), pairs.end(), [](const auto& pair) {
        return pair.first == "IgnoreUnknown" &&
               (pair.second == "1" || pair.second == "true" || pair.second == "True");
    });
    if (ignore_unknown) {
        return;
    }
    std::vector<std::string> unknown;
    for (const auto& [key, value] : pairs) {
        if (key != "IgnoreUnknown" && std::find(known.begin(), known.end(), key) == known.end()) {
            unknown.push_back(key);
        }
    }
    if (!unknown.empty()) {
        throw Error(ErrorCode::InvalidEnvironment,
                    fmt::format("ARGS: unknown args [{}]", fmt::join(unknown, " ")),
                    "add IgnoreUnknown=1 to CNI_ARGS to ignore keys this plugin does not know");
    }
}

std::string arg_value(const ArgPairs& pairs, std::string_view key) {
    // The last pair wins.
    const auto it = std::find_if(pairs.rbegin(), pairs.rend(),
                                 [key](const auto& pair) { return pair.first == key; });
    return it != pairs.rend() ? it->second : std::string{};
}

std::string join_cni_args(const ArgPairs& pairs) {
    std::string out;
    for (const auto& [key, value] : pairs) {
        if (!out.empty()) {
            out += ';';
        }
        out += key;
        out += '=';
        out += value;
    }
    return out;
}

}  // namespace splitnet::cni
