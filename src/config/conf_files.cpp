#include "splitnet/config/conf_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/go_json.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::config {
namespace {

namespace fs = std::filesystem;

// At most one byte more than a config may have, so that a huge file costs no memory.
std::string read_conf_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        cni::fail_config("error reading " + path.string());
    }
    std::string bytes(util::kMaxConfigBytes + 1, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.bad()) {
        cni::fail_config("error reading " + path.string());
    }
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > util::kMaxConfigBytes) {
        cni::fail_config(fmt::format("error reading {}: larger than {} bytes", path.string(),
                                     util::kMaxConfigBytes));
    }
    return bytes;
}

std::string string_key(const nlohmann::json& obj, std::string_view key) {
    const auto* value = util::find_key_go(obj, key);
    return value != nullptr ? util::json_string(*value).value_or("") : std::string();
}

/// libcni ConfFiles: non-directory entries with one of the extensions, sorted by file name.
std::vector<fs::path> conf_files(const fs::path& dir, const std::vector<std::string>& extensions) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_directory(type_ec)) {
            continue;
        }
        const auto ext = it->path().extension().string();
        if (std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) {
            out.push_back(it->path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// NAD configs and conf files are untrusted: bounded in size and depth; the message says why.
nlohmann::json parse_object(std::string_view bytes, const std::string& what,
                            std::size_t max_depth = util::kMaxJsonDepth) {
    std::string problem = "not a JSON object";
    auto doc = util::try_parse_json_bounded(bytes, {util::kMaxConfigBytes, max_depth}, &problem);
    if (!doc || !doc->is_object()) {
        cni::fail_config(what + ": " + problem);
    }
    return std::move(*doc);
}

}  // namespace

std::string inject_network_name(std::string_view config, const std::string& name) {
    auto doc = parse_object(
        config, "GetCNIConfig: err in getCNIConfigFromSpec: failed to unmarshal Spec.Config");
    // Go map lookup: exact key "name", and only a missing key or "" counts as missing.
    auto it = doc.find("name");
    if (it != doc.end() && !(it->is_string() && it->get<std::string>().empty())) {
        return std::string(config);
    }
    doc["name"] = name;
    return util::go_marshal(doc);
}

std::string config_from_conf_dir(const std::string& name, const std::string& conf_dir) {
    const auto files = conf_files(conf_dir, {".conf", ".json", ".conflist"});
    if (files.empty()) {
        cni::fail_config("No networks found in " + conf_dir);
    }
    for (const auto& file : files) {
        auto bytes = read_conf_file(file);
        if (file.extension() == ".conflist") {
            const auto doc =
                parse_object(bytes, "Error loading CNI conflist file " + file.string() +
                                        ": error parsing configuration list");
            const auto* list_name = doc.find("name") != doc.end() ? &doc["name"] : nullptr;
            if (list_name == nullptr || !list_name->is_string()) {
                cni::fail_config("Error loading CNI conflist file " + file.string() +
                                 ": error parsing configuration list: no name");
            }
            if (name.empty() || list_name->get<std::string>() == name) {
                return bytes;
            }
            continue;
        }
        const auto doc = parse_object(bytes, "Error loading CNI config file " + file.string() +
                                                 ": error parsing configuration");
        if (name.empty() || string_key(doc, "name") == name) {
            if (string_key(doc, "type").empty()) {
                cni::fail_config("Error loading CNI config file " + file.string() +
                                 ": no 'type'; perhaps this is a .conflist?");
            }
            return bytes;
        }
    }
    cni::fail_config("no network available in the name " + name + " in cni dir " + conf_dir);
}

std::string config_from_path(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         "stat " + path + ": no such file or directory", {}, ENOENT);
    }
    if (fs::is_directory(status)) {
        if (conf_files(path, {".conf", ".conflist"}).empty()) {
            cni::fail_config("getNetDelegate: cannot find network: " + path);
        }
        return config_from_conf_dir("", path);
    }
    auto bytes = read_conf_file(path);
    if (fs::path(path).extension() == ".conflist") {
        auto doc = parse_object(bytes, "error loading CNI conflist file " + path);
        const auto* list_name = doc.find("name") != doc.end() ? &doc["name"] : nullptr;
        if (list_name == nullptr || !list_name->is_string()) {
            cni::fail_config("error loading CNI conflist file " + path +
                             ": error parsing configuration list: "
                             "no name");
        }
        const auto* inline_only = util::find_key_go(doc, "loadOnlyInlinedPlugins");
        const bool only_inline =
            inline_only != nullptr &&
            ((inline_only->is_boolean() && inline_only->get<bool>()) ||
             (inline_only->is_string() && inline_only->get<std::string>() == "true"));
        if (only_inline) {
            return bytes;
        }
        // libcni v1.3 subdirectory chaining: <dir>/<list name>/*.conf are extra plugins.
        const auto sub = fs::path(path).parent_path() / list_name->get<std::string>();
        const auto extra = conf_files(sub, {".conf"});
        if (extra.empty()) {
            return bytes;
        }
        if (!doc.contains("plugins") || !doc["plugins"].is_array()) {
            doc["plugins"] = nlohmann::json::array();
        }
        for (const auto& file : extra) {
            auto plugin =
                parse_object(read_conf_file(file), "error parsing configuration " + file.string());
            if (string_key(plugin, "type").empty()) {
                cni::fail_config("error loading plugin config " + file.string() +
                                 ": missing 'type'");
            }
            doc["plugins"].push_back(std::move(plugin));
        }
        spdlog::debug("{}: appended {} chained plugin(s) from {}", path, extra.size(),
                      sub.string());
        return util::go_marshal(doc);
    }
    const auto doc = parse_object(bytes, "error loading CNI config file " + path);
    if (string_key(doc, "type").empty()) {
        cni::fail_config("error loading CNI config file " + path +
                         ": no 'type'; perhaps this is a .conflist?");
    }
    return bytes;
}

std::string check_delegate_config(std::string_view config) {
    // Composed limit: the config may be a conflist with plugins appended (config_from_path).
    const auto doc =
        parse_object(config, "LoadDelegateNetConf: error unmarshalling delegate config",
                     util::kMaxComposedJsonDepth);
    const auto shape = util::network_config_shape(doc);
    if (shape == util::NetworkConfigShape::Conf) {
        return string_key(doc, "name");
    }
    if (shape != util::NetworkConfigShape::ConfList) {
        cni::fail_config(
            "LoadDelegateNetConf: failed with: LoadDelegateNetConfList: delegate must have the "
            "'type' or 'plugin' field");
    }
    const auto& plugins = *util::find_key_go(doc, "plugins");
    if (plugins.empty() || string_key(plugins[0], "type").empty()) {
        cni::fail_config(
            "LoadDelegateNetConf: failed with: LoadDelegateNetConfList: a plugin delegate must "
            "have the 'type' field");
    }
    return string_key(doc, "name");
}

}  // namespace splitnet::config
