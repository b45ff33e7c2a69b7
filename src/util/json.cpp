#include "splitnet/util/json.hpp"

#include <fmt/format.h>

#include "splitnet/util/text.hpp"

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

const nlohmann::json* find_key_go(const nlohmann::json& object, std::string_view key) {
    if (!object.is_object()) {
        return nullptr;
    }
    if (const auto exact = object.find(key); exact != object.end()) {
        return &*exact;
    }
    const nlohmann::json* match = nullptr;
    for (const auto& [name, value] : object.items()) {
        if (iequals(name, key)) {
            match = &value;
        }
    }
    return match;
}

NetworkConfigShape network_config_shape(const nlohmann::json& doc) {
    if (const auto* type = find_key_go(doc, "type"); type != nullptr) {
        if (const auto name = json_string(*type); name && !name->empty()) {
            return NetworkConfigShape::Conf;
        }
    }
    if (const auto* plugins = find_key_go(doc, "plugins");
        plugins != nullptr && plugins->is_array()) {
        return NetworkConfigShape::ConfList;
    }
    return NetworkConfigShape::Neither;
}

}  // namespace splitnet::util
