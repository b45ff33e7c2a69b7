#include "json_fields.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::attach::detail {

using nlohmann::json;

namespace {

[[noreturn]] void type_error(std::string_view key, std::string_view prefix, const char* what) {
    throw cni::Error(cni::ErrorCode::Other,
                     fmt::format("{}: field \"{}\" must be {}", prefix, key, what));
}

}  // namespace

json parse_object(std::string_view text, std::string_view prefix) {
    json doc = util::parse_json_bounded(
        text, prefix, {util::kMaxConfigBytes, util::kMaxComposedJsonDepth}, cni::ErrorCode::Other);
    if (!doc.is_object()) {
        throw cni::Error(cni::ErrorCode::Other,
                         fmt::format("{}: the configuration is not a JSON object", prefix));
    }
    return doc;
}

std::string string_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return {};
    }
    if (!it->is_string()) {
        type_error(key, prefix, "a string");
    }
    return it->get<std::string>();
}

int int_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return 0;
    }
    if (!it->is_number_integer()) {
        type_error(key, prefix, "an integer");
    }
    const auto value = it->get<long long>();
    if (value < INT32_MIN || value > INT32_MAX) {
        type_error(key, prefix, "a 32-bit integer");
    }
    return static_cast<int>(value);
}

bool bool_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return false;
    }
    if (!it->is_boolean()) {
        type_error(key, prefix, "a boolean");
    }
    return it->get<bool>();
}

std::vector<std::string> string_list_field(const json& obj, std::string_view key,
                                           std::string_view prefix) {
    std::vector<std::string> out;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return out;
    }
    if (!it->is_array()) {
        type_error(key, prefix, "a list of strings");
    }
    for (const auto& item : *it) {
        if (!item.is_string()) {
            type_error(key, prefix, "a list of strings");
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

const json* object_field(const json& obj, std::string_view key, std::string_view prefix) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        return nullptr;
    }
    if (!it->is_object()) {
        type_error(key, prefix, "an object");
    }
    return &*it;
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
