#include "splitnet/delegate/plugin_type.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::delegate {
namespace {

using nlohmann::json;

// Meta-plugins take their stdin as the node's configuration. Run as a network's plugin, they
// would let whoever writes the network (a NAD author) choose binDir, logFile, kubeconfig, ...
constexpr std::array<std::string_view, 3> kMetaPlugins = {"splitnet", "multus", "multus-shim"};

void check_one(const json& value, std::string_view what, std::string_view network) {
    if (!value.is_string()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         fmt::format("network \"{}\": the {} type must be a string", network, what),
                         "set it to the name of a CNI plugin installed on the node");
    }
    const auto type = value.get<std::string>();
    if (type.empty() && what == "IPAM") {
        return;  // as the reference plugins: an empty IPAM type means no IPAM
    }
    if (auto problem = plugin_type_problem(type); !problem.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         fmt::format("network \"{}\": {}", network, problem),
                         fmt::format("fix the {} type in this network's configuration "
                                     "(NetworkAttachmentDefinition or confDir file)",
                                     what));
    }
}

// Every member whose key case-folds to `key` (Go plugins decode any of them into the field).
template <class Fn>
void for_each_folded(const json& object, std::string_view key, Fn&& fn) {
    if (!object.is_object()) {
        return;
    }
    for (const auto& [name, value] : object.items()) {
        if (util::iequals(name, key)) {
            fn(value);
        }
    }
}

}  // namespace

std::string plugin_type_problem(std::string_view type) {
    // The type is printed in messages: never more than the limit, never a raw control byte.
    const auto shown = cni::printable(type.substr(0, kMaxPluginTypeLength));
    if (type.size() > kMaxPluginTypeLength || !cni::is_valid_identifier(type)) {
        return fmt::format(
            "invalid plugin type \"{}\": a plugin type is a file name of at most {} characters "
            "(letters, digits, '_', '.', '-'; no '/'), looked up in binDir and CNI_PATH",
            shown, kMaxPluginTypeLength);
    }
    if (std::find(kMetaPlugins.begin(), kMetaPlugins.end(), type) != kMetaPlugins.end()) {
        return fmt::format(
            "plugin type \"{}\" is not allowed: a meta-plugin (splitnet, multus, multus-shim) "
            "cannot be a network's plugin; name the plugin that creates the interface "
            "(e.g. \"macvlan\") instead",
            type);
    }
    return {};
}

void check_plugin_types(const NetworkConfig& net, std::string_view network) {
    for (const auto& plugin : net.plugins) {
        for_each_folded(plugin, "type",
                        [&](const json& type) { check_one(type, "plugin", network); });
        for_each_folded(plugin, "ipam", [&](const json& ipam) {
            for_each_folded(ipam, "type",
                            [&](const json& type) { check_one(type, "IPAM", network); });
        });
    }
}

}  // namespace splitnet::delegate
