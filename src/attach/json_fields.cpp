#include "splitnet/attach/json_fields.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::attach::detail {

using nlohmann::json;

namespace {

[[noreturn]] void field_type_error(std::string_view key, std::string_view prefix,
                                   const char* what) {
    cni::fail(cni::ErrorCode::Other, fmt::format("{}: field \"{}\" must be {}", prefix, key, what));
}

}  // namespace

json parse_object(std::string_view text, std::string_view prefix) {
    json doc = util::parse_json_bounded(
        text, prefix, {util::kMaxConfigBytes, util::kMaxComposedJsonDepth}, cni::ErrorCode::Other);
    if (!doc.is_object()) {
        cni::fail(cni::ErrorCode::Other,
                  fmt::format("{}: the configuration is not a JSON object", prefix));
    }
    return doc;
}

std::string string_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto* value = util::find_given(obj, key);
    if (value == nullptr) {
        return {};
    }
    auto text = util::json_string(*value);
    if (!text) {
        field_type_error(key, prefix, "a string");
    }
    return std::move(*text);
}

int int_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto* value = util::find_given(obj, key);
    if (value == nullptr) {
        return 0;
    }
    if (!value->is_number_integer()) {
        field_type_error(key, prefix, "an integer");
    }
    const auto number = util::json_integer(*value, INT32_MIN, INT32_MAX);
    if (!number) {
        field_type_error(key, prefix, "a 32-bit integer");
    }
    return static_cast<int>(*number);
}

bool bool_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto* value = util::find_given(obj, key);
    if (value == nullptr) {
        return false;
    }
    const auto flag = util::json_bool(*value);
    if (!flag) {
        field_type_error(key, prefix, "a boolean");
    }
    return *flag;
}

std::vector<std::string> string_list_field(const json& obj, std::string_view key,
                                           std::string_view prefix) {
    const auto* value = util::find_given(obj, key);
    if (value == nullptr) {
        return {};
    }
    auto list = util::json_string_list(*value);
    if (!list) {
        field_type_error(key, prefix, "a list of strings");
    }
    return std::move(*list);
}

const json* object_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto* value = util::find_given(obj, key);
    if (value != nullptr && !value->is_object()) {
        field_type_error(key, prefix, "an object");
    }
    return value;
}

cni::Dns parse_dns(const json* dns, std::string_view prefix) {
    cni::Dns out;
    if (dns == nullptr) {
        return out;
    }
    out.nameservers = string_list_field(*dns, "nameservers", prefix);
    out.domain = string_field(*dns, "domain", prefix);
    out.search = string_list_field(*dns, "search", prefix);
    out.options = string_list_field(*dns, "options", prefix);
    return out;
}

}  // namespace splitnet::attach::detail
