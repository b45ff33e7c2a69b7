#include "splitnet/agent/taint.hpp"

#include <fmt/format.h>

namespace splitnet::agent {

std::optional<nlohmann::json> remove_taint_patch(const nlohmann::json& node, std::string_view key) {
    if (!node.is_object()) {
        return std::nullopt;
    }
    const auto spec = node.find("spec");
    if (spec == node.end() || !spec->is_object()) {
        return std::nullopt;
    }
    const auto taints = spec->find("taints");
    if (taints == spec->end() || !taints->is_array()) {
        return std::nullopt;
    }
    auto patch = nlohmann::json::array();
    for (std::size_t i = taints->size(); i-- > 0;) {
        const auto& taint = (*taints)[i];
        if (!taint.is_object()) {
            continue;
        }
        const auto taint_key = taint.find("key");
        if (taint_key == taint.end() || !taint_key->is_string() ||
            taint_key->get<std::string>() != key) {
            continue;
        }
        const auto path = fmt::format("/spec/taints/{}", i);
        patch.push_back({{"op", "test"}, {"path", path}, {"value", taint}});
        patch.push_back({{"op", "remove"}, {"path", path}});
    }
    if (patch.empty()) {
        return std::nullopt;
    }
    return patch;
}

std::string node_path(std::string_view node) {
    return fmt::format("/api/v1/nodes/{}", node);
}

}  // namespace splitnet::agent
