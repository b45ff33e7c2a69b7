#include "splitnet/util/json.hpp"

#include <fmt/format.h>

namespace splitnet::util {

std::size_t json_nesting_depth(std::string_view text, std::size_t stop_above) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > deepest) {
                    deepest = depth;
                    if (deepest > stop_above) {
                        return deepest;
                    }
                }
                break;
            case ']':
            case '}':
                // A parser stops at an unbalanced closer, so clamping cannot hide depth from it.
                if (depth > 0) {
                    --depth;
                }
                break;
            default:
                break;
        }
    }
    return deepest;
}

std::optional<std::string> json_limit_problem(std::string_view text, const JsonLimits& limits) {
    if (text.size() > limits.max_bytes) {
        return fmt::format("the document is {} bytes long, more than the limit of {} bytes",
                           text.size(), limits.max_bytes);
    }
    if (json_nesting_depth(text, limits.max_depth) > limits.max_depth) {
        return fmt::format(
            "the document nests arrays and objects deeper than the limit of {} "
            "levels",
            limits.max_depth);
    }
    return std::nullopt;
}

std::string dump_json(const nlohmann::json& doc, int indent) {
    return doc.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

std::string valid_utf8(std::string_view text) {
    // dump_json's own replacement, so that both agree byte for byte; the quoted string it prints
    // is read back (it cannot fail: dump_json only writes valid JSON).
    return nlohmann::json::parse(dump_json(nlohmann::json(std::string(text)))).get<std::string>();
}

}  // namespace splitnet::util
