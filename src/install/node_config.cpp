#include "splitnet/install/node_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::install {
namespace {

using nlohmann::json;

[[noreturn]] void bad_master(const std::string& master_name, std::string_view why) {
    throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                     fmt::format("install: master config {}: {}", master_name, why));
}

// Union of the plugins' "capabilities" (true wins), as Multus' auto config does.
json capabilities_of(const json& master, const std::string& master_name) {
    json out = json::object();
    const auto add = [&](const json& plugin) {
        if (!plugin.is_object()) {
            bad_master(master_name, "a plugin entry is not a JSON object");
        }
        const auto caps = plugin.find("capabilities");
        if (caps == plugin.end() || !caps->is_object()) {
            return;
        }
        for (const auto& [name, enabled] : caps->items()) {
            if (enabled.is_boolean() && enabled.get<bool>()) {
                out[name] = true;
            }
        }
    };
    if (const auto plugins = master.find("plugins"); plugins != master.end()) {
        if (!plugins->is_array()) {
            bad_master(master_name, "\"plugins\" is not a list");
        }
        std::for_each(plugins->begin(), plugins->end(), add);
    } else {
        add(master);
    }
    return out;
}

}  // namespace

bool is_generated_config(const std::string& file_name) {
    return file_name.starts_with("00-multus.conf") || file_name.starts_with("00-splitnet.conf");
}

std::optional<std::string> pick_master(std::vector<std::string> file_names,
                                       const std::string& requested) {
    if (!requested.empty()) {
        const bool listed =
            std::find(file_names.begin(), file_names.end(), requested) != file_names.end();
        return listed ? std::optional(requested) : std::nullopt;
    }
    std::sort(file_names.begin(), file_names.end());
    for (const auto& name : file_names) {
        if ((name.ends_with(".conf") || name.ends_with(".conflist")) && !name.starts_with(".") &&
            !is_generated_config(name)) {
            return name;
        }
    }
    return std::nullopt;
}

NodeConfig generate_node_config(const json& master, const std::string& master_name,
                                const Options& options, const std::string& kubeconfig) {
    if (!master.is_object()) {
        bad_master(master_name, "not a JSON object");
    }
    const auto version_it = master.find("cniVersion");
    if (version_it == master.end() || !version_it->is_string() ||
        version_it->get<std::string>().empty()) {
        bad_master(master_name, "no \"cniVersion\"");
    }
    json delegate = master;
    std::string version = version_it->get<std::string>();
    if (!cni::is_supported_version(version)) {
        bad_master(master_name, fmt::format("cniVersion \"{}\" is not one of {}", version,
                                            cni::supported_versions_text()));
    }
    if (!options.cni_version.empty() && options.cni_version != version) {
        if (!options.force_cni_version) {
            bad_master(master_name, fmt::format("cniVersion is {} but --cni-version is {}; set "
                                                "--force-cni-version to override it",
                                                version, options.cni_version));
        }
        if (!cni::is_supported_version(options.cni_version)) {
            bad_master(master_name,
                       fmt::format("--cni-version \"{}\" is not one of {}", options.cni_version,
                                   cni::supported_versions_text()));
        }
        version = options.cni_version;
        delegate["cniVersion"] = version;
    }

    json plugin = json::object();
    plugin["type"] = "splitnet";
    if (auto caps = capabilities_of(master, master_name); !caps.empty()) {
        plugin["capabilities"] = std::move(caps);
    }
    if (options.namespace_isolation) {
        plugin["namespaceIsolation"] = true;
    }
    if (!options.global_namespaces.empty()) {
        plugin["globalNamespaces"] = options.global_namespaces;
    }
    if (!options.log_to_stderr) {
        plugin["logToStderr"] = false;
    }
    if (!options.log_level.empty()) {
        plugin["logLevel"] = options.log_level;
    }
    if (!options.log_file.empty()) {
        plugin["logFile"] = options.log_file;
    }
    if (!options.additional_bin_dir.empty()) {
        plugin["binDir"] = options.additional_bin_dir;
    }
    if (!options.readiness_indicator_file.empty()) {
        plugin["readinessindicatorfile"] = options.readiness_indicator_file;
    }
    if (!options.cluster_dns.empty()) {
        plugin["clusterDNS"] = options.cluster_dns;
    }
    if (!options.cluster_cidrs.empty()) {
        plugin["clusterCIDRs"] = options.cluster_cidrs;
    }
    if (!kubeconfig.empty()) {
        plugin["kubeconfig"] = kubeconfig;
    }
    plugin["delegates"] = json::array({delegate});

    std::string name = kDefaultNetworkName;
    if (options.override_network_name) {
        const auto master_network = master.find("name");
        if (master_network == master.end() || !master_network->is_string()) {
            bad_master(master_name, "--override-network-name needs a \"name\"");
        }
        name = master_network->get<std::string>();
    }

    json doc = json::object();
    doc["cniVersion"] = version;
    doc["name"] = name;
    const bool conflist = cni::version_at_least(version, "1.0.0");
    if (conflist) {
        doc["plugins"] = json::array({plugin});
    } else {
        doc.update(plugin);
    }
    return {fmt::format("{}.{}", kConfBaseName, conflist ? "conflist" : "conf"),
            util::dump_json(doc, 2) + "\n"};
}

std::string sibling_config_name(const std::string& written) {
    return written.ends_with(".conflist") ? fmt::format("{}.conf", kConfBaseName)
                                          : fmt::format("{}.conflist", kConfBaseName);
}

}  // namespace splitnet::install
