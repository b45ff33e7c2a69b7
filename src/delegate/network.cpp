#include "splitnet/delegate/network.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::delegate {
namespace {

using nlohmann::json;

// Matched as libcni's Go decoder matches it, like network_config_shape does.
std::string plugin_type_of(const json& plugin) {
    const auto* type = util::find_key_go(plugin, "type");
    return type != nullptr ? util::json_string(*type).value_or("") : std::string();
}

constexpr auto kInvalidConfig = cni::ErrorCode::InvalidNetworkConfig;
constexpr std::string_view kInvalidConfigText = "invalid delegate configuration";

// libcni decodes these into Go strings: null is "", another type is an error.
std::string string_value(const json& doc, const char* key, cni::ErrorCode code,
                         std::string_view what) {
    const auto* value = util::find_given(doc, key);
    if (value == nullptr) {
        return {};
    }
    auto text = util::json_string(*value);
    if (!text) {
        cni::fail(code, fmt::format("{}: \"{}\" must be a string", what, key));
    }
    return std::move(*text);
}

PluginCall make_call(cni::Verb verb, const json& plugin, std::string config,
                     const RuntimeConf& rt) {
    PluginCall call;
    call.verb = verb;
    call.type = plugin_type_of(plugin);
    call.config = std::move(config);
    call.container_id = rt.container_id;
    call.netns = rt.netns;
    call.ifname = rt.ifname;
    call.cni_args = rt.cni_args;
    call.cni_path = rt.cni_path;
    call.timeout = rt.timeout;
    if (verb == cni::Verb::Add) {
        call.add_tag = rt.add_tag;
    }
    return call;
}

// A chained plugin decodes prevResult with the list version; hand it over in that version even
// when the previous plugin answered in another (libcni does not, and the next plugin then fails).
json normalise_result(const std::string& stdout_text, const NetworkConfig& net,
                      const std::string& type) {
    auto doc = util::parse_json_bounded(
        stdout_text, fmt::format("plugin \"{}\" printed an invalid result", type),
        {util::kMaxResultBytes, util::kMaxJsonDepth});
    if (!doc.is_object()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         fmt::format("plugin \"{}\" printed a result that is not an object", type));
    }
    const auto version = string_value(doc, "cniVersion", cni::ErrorCode::DecodingFailure,
                                      fmt::format("plugin \"{}\" printed an invalid result", type));
    if (version.empty()) {
        doc["cniVersion"] = net.cni_version;
    } else if (version != net.cni_version) {
        doc = cni::result_to_json(cni::parse_result(doc, net.cni_version), net.cni_version);
    }
    return doc;
}

}  // namespace

NetworkConfig parse_network_config(std::string_view bytes) {
    NetworkConfig net;
    // Composed limit: a delegate config may carry the annotation's cni-args (plan.cpp).
    net.doc = util::parse_json_bounded(bytes, "invalid delegate configuration",
                                       {util::kMaxConfigBytes, util::kMaxComposedJsonDepth});
    if (!net.doc.is_object()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         "a delegate configuration must be a JSON object");
    }
    net.name = string_value(net.doc, "name", kInvalidConfig, kInvalidConfigText);
    net.cni_version = string_value(net.doc, "cniVersion", kInvalidConfig, kInvalidConfigText);
    const auto shape = util::network_config_shape(net.doc);
    if (shape == util::NetworkConfigShape::Conf) {
        net.plugins.push_back(net.doc);
        return net;
    }
    const auto* plugins = util::find_key_go(net.doc, "plugins");
    if (shape != util::NetworkConfigShape::ConfList || plugins->empty()) {
        throw cni::Error(
            cni::ErrorCode::InvalidNetworkConfig,
            fmt::format("delegate \"{}\" must have the 'type' or 'plugins' field", net.name),
            R"(a delegate is a CNI conf (with "type") or a conflist (with "plugins"))");
    }
    net.is_list = true;
    for (const auto& plugin : *plugins) {
        if (!plugin.is_object() || plugin_type_of(plugin).empty()) {
            throw cni::Error(
                cni::ErrorCode::InvalidNetworkConfig,
                fmt::format("a plugin of delegate \"{}\" has no 'type' field", net.name));
        }
        net.plugins.push_back(plugin);
    }
    return net;
}

std::string build_plugin_config(const NetworkConfig& net, const json& plugin,
                                const json& capability_args, const json* prev_result) {
    json out = plugin;
    out["name"] = net.name;
    out["cniVersion"] = net.cni_version;
    json runtime_config = json::object();
    if (const auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
        for (const auto& [key, enabled] : caps->items()) {
            if (enabled.is_boolean() && enabled.get<bool>() && capability_args.is_object() &&
                capability_args.contains(key)) {
                runtime_config[key] = capability_args.at(key);
            }
        }
    }
    if (!runtime_config.empty()) {
        out["runtimeConfig"] = std::move(runtime_config);
    }
    if (prev_result != nullptr && !prev_result->is_null()) {
        out["prevResult"] = *prev_result;
    }
    return util::dump_json(out);
}

json add_plugin(PluginInvoker& invoker, const NetworkConfig& net, const json& plugin,
                const RuntimeConf& rt, const json* prev_result) {
    const auto config = build_plugin_config(net, plugin, rt.capability_args, prev_result);
    const auto call = make_call(cni::Verb::Add, plugin, config, rt);
    return normalise_result(invoker.invoke(call), net, call.type);
}

json add_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                 std::size_t* plugins_added) {
    json prev;
    for (const auto& plugin : net.plugins) {
        prev = add_plugin(invoker, net, plugin, rt, prev.is_null() ? nullptr : &prev);
        if (plugins_added != nullptr) {
            ++*plugins_added;
        }
    }
    return prev;
}

void del_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                 const json* prev_result) {
    // libcni passes prevResult on DEL only from 0.4.0 on.
    const bool with_prev = prev_result != nullptr && !prev_result->is_null() &&
                           cni::version_at_least(net.cni_version, "0.4.0");
    std::optional<cni::Error> first_error;
    for (auto it = net.plugins.rbegin(); it != net.plugins.rend(); ++it) {
        const auto config =
            build_plugin_config(net, *it, rt.capability_args, with_prev ? prev_result : nullptr);
        try {
            invoker.invoke(make_call(cni::Verb::Del, *it, config, rt));
        } catch (const cni::Error& e) {
            spdlog::warn(R"(DEL of plugin "{}" in network "{}" failed: {})", plugin_type_of(*it),
                         net.name, e.what());
            if (!first_error) {
                first_error = e;
            }
        }
    }
    if (first_error) {
        throw cni::Error(*first_error);
    }
}

void check_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                   const json& prev_result) {
    if (!cni::version_at_least(net.cni_version, "0.4.0")) {
        spdlog::info("network \"{}\" is cniVersion {}: CHECK not supported, skipped", net.name,
                     net.cni_version);
        return;
    }
    for (const auto& plugin : net.plugins) {
        const auto config = build_plugin_config(net, plugin, rt.capability_args, &prev_result);
        invoker.invoke(make_call(cni::Verb::Check, plugin, config, rt));
    }
}

void status_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt) {
    if (!cni::version_at_least(net.cni_version, "1.1.0")) {
        return;  // as libcni: STATUS only exists from 1.1.0 on
    }
    for (const auto& plugin : net.plugins) {
        const auto config = build_plugin_config(net, plugin, rt.capability_args, nullptr);
        invoker.invoke(make_call(cni::Verb::Status, plugin, config, rt));
    }
}

void gc_network(PluginInvoker& invoker, const NetworkConfig& net, const RuntimeConf& rt,
                const json& extra_keys) {
    if (!cni::version_at_least(net.cni_version, "1.1.0")) {
        return;
    }
    std::optional<cni::Error> first_error;
    for (const auto& plugin : net.plugins) {
        json with_keys = plugin;
        for (const auto& [key, value] : extra_keys.items()) {
            with_keys[key] = value;
        }
        const auto config = build_plugin_config(net, with_keys, rt.capability_args, nullptr);
        try {
            invoker.invoke(make_call(cni::Verb::Gc, plugin, config, rt));
        } catch (const cni::Error& e) {
            spdlog::warn(R"(GC of plugin "{}" in network "{}" failed: {})", plugin_type_of(plugin),
                         net.name, e.what());
            if (!first_error) {
                first_error = e;
            }
        }
    }
    if (first_error) {
        throw cni::Error(*first_error);
    }
}

}  // namespace splitnet::delegate
