#include "splitnet/k8s/nad_resolver.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/conf_files.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/util/go_json.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::k8s {
namespace {

std::string annotation(const PodInfo& pod, std::string_view key, bool* present = nullptr) {
    if (auto it = pod.annotations.find(std::string(key));
        it != pod.annotations.end() && it->is_string()) {
        if (present != nullptr) {
            *present = true;
        }
        return it->get<std::string>();
    }
    if (present != nullptr) {
        *present = false;
    }
    return {};
}

void check_reference(const std::string& ns, const std::string& name) {
    if (!is_dns1123_label(ns) || !is_dns1123_subdomain(name)) {
        cni::fail_config(
            "invalid network-attachment-definition reference \"" + ns + "/" + name +
            "\": namespace and name must be DNS-1123 names (lower case alphanumerics, '-' and "
            "'.'), e.g. \"media/unifi-vpn\"");
    }
}

/// Multus getKubernetesDelegate: NAD GET (+ empty-spec file fallback), name "ns/nad".
/// `missing`, when given, learns which NAD could not be read before the error is thrown.
plan::DelegateSpec kubernetes_delegate(ApiClient* client, const std::string& ns,
                                       const std::string& name, const std::string& conf_dir,
                                       std::optional<MissingNetwork>* missing = nullptr) {
    const std::string prefix =
        "getKubernetesDelegate: cannot find a network-attachment-definition (" + name +
        ") in namespace (" + ns + "): ";
    const auto not_readable = [&](const std::string& why) {
        if (missing != nullptr) {
            *missing = MissingNetwork{ns, name, why};
        }
    };
    if (client == nullptr) {
        const std::string why =
            "no Kubernetes API access (set \"kubeconfig\" in the splitnet config)";
        not_readable(why);
        cni::fail_config(prefix + why);
    }
    check_reference(ns, name);
    std::optional<nlohmann::json> nad;
    try {
        nad = fetch_nad(*client, ns, name);
    } catch (const cni::Error& e) {
        not_readable(e.what());
        throw;
    }
    if (!nad) {
        const std::string why =
            "network-attachment-definitions.k8s.cni.cncf.io \"" + name + "\" not found";
        not_readable(why);
        cni::fail_config(prefix + why);
    }
    plan::DelegateSpec spec;
    spec.name = ns + "/" + name;
    spec.config = nad_config(*nad, name, conf_dir);
    config::check_delegate_config(spec.config);
    return spec;
}

plan::DelegateSpec file_delegate(std::string config) {
    plan::DelegateSpec spec;
    spec.name = config::check_delegate_config(config);
    spec.config = std::move(config);
    return spec;
}

/// Multus getNetDelegate for clusterNetwork / defaultNetworks values.
plan::DelegateSpec net_delegate(ApiClient* client, const config::MetaConf& conf,
                                const std::string& value) {
    if (value.find('/') != std::string::npos) {
        return file_delegate(config::config_from_path(value));
    }
    if (client != nullptr && is_dns1123_subdomain(value) &&
        is_dns1123_label(conf.multus_namespace)) {
        try {
            return kubernetes_delegate(client, conf.multus_namespace, value, conf.conf_dir);
        } catch (const cni::Error& e) {
            // Any failure (also an API error) falls through to the confDir lookup, as Multus.
            spdlog::debug("{} is not usable as a NAD in {}: {}", value, conf.multus_namespace,
                          e.what());
        }
    }
    try {
        return file_delegate(config::config_from_conf_dir(value, conf.conf_dir));
    } catch (const cni::Error& e) {
        cni::fail_config("getNetDelegate: cannot find network: " + value + " (" + e.what() + ")");
    }
}

[[noreturn]] void rethrow_with_prefix(const cni::Error& e, const std::string& prefix) {
    throw cni::Error(e.code(), prefix + e.what(), e.details(), e.sys_errno());
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

/// Multus isValidNamespaceReference: under namespaceIsolation a pod may only use networks of its
/// own namespace or of a globalNamespaces one. Applied to every network a pod's annotations can
/// select (the networks list and the default network alike).
void check_isolation(const config::MetaConf& conf, const PodInfo& pod, const plan::Selection& sel,
                     const std::string& context) {
    if (!conf.namespace_isolation || sel.namespace_ == pod.namespace_ ||
        contains(conf.global_namespaces, sel.namespace_)) {
        return;
    }
    throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                     context +
                         ": namespace isolation enabled, annotation violates permission, pod is "
                         "in namespace " +
                         pod.namespace_ + " but refers to target namespace " + sel.namespace_,
                     "create the network-attachment-definition " + sel.name + " in namespace " +
                         pod.namespace_ + ", or add " + sel.namespace_ +
                         " to globalNamespaces in the node config");
}

plan::DelegateSpec inline_delegate(const nlohmann::json& delegate) {
    // Multus re-marshals each raw delegate map before loading it.
    return file_delegate(util::go_marshal(delegate));
}

// The primary as the node config names it, before any pod annotation may replace it.
plan::DelegateSpec config_primary(const config::MetaConf& conf, ApiClient* client) {
    plan::DelegateSpec spec;
    if (!conf.cluster_network.empty()) {
        try {
            spec = net_delegate(client, conf, conf.cluster_network);
        } catch (const cni::Error& e) {
            rethrow_with_prefix(e, "GetDefaultNetworks: failed to get clusterNetwork " +
                                       conf.cluster_network + " in namespace " +
                                       conf.multus_namespace + ": ");
        }
    } else {
        if (conf.delegates.empty()) {
            cni::fail_config("LoadNetConf: at least one delegate/clusterNetwork must be specified");
        }
        spec = inline_delegate(conf.delegates.front());
    }
    spec.is_primary = true;
    return spec;
}

}  // namespace

std::string nad_config(const nlohmann::json& nad, const std::string& nad_name,
                       const std::string& conf_dir) {
    std::string config;
    if (const auto* spec = util::find_key_go(nad, "spec"); spec != nullptr) {
        if (const auto* c = util::find_key_go(*spec, "config"); c != nullptr && c->is_string()) {
            config = c->get<std::string>();
        }
    }
    if (config.empty()) {
        try {
            return config::config_from_conf_dir(nad_name, conf_dir);
        } catch (const cni::Error& e) {
            cni::fail_config(std::string("GetCNIConfig: err in GetCNIConfigFromFile: ") + e.what());
        }
    }
    return config::inject_network_name(config, nad_name);
}

std::optional<nlohmann::json> fetch_nad(ApiClient& client, const std::string& ns,
                                        const std::string& name) {
    check_reference(ns, name);
    const auto response = client.get(nad_path(ns, name));
    if (response.status == 404) {
        return std::nullopt;
    }
    if (response.status != 200 || !response.body.is_object()) {
        throw cni::Error(cni::ErrorCode::TryAgainLater,
                         "cannot get network-attachment-definition " + ns + "/" + name + ": " +
                             status_message(response));
    }
    return response.body;
}

std::optional<plan::DelegateSpec> config_primary_without_api(const config::MetaConf& conf) {
    if (!conf.cluster_network.empty() && conf.cluster_network.find('/') == std::string::npos) {
        return std::nullopt;  // a name: a NAD in multusNamespace first (net_delegate)
    }
    return config_primary(conf, nullptr);
}

std::vector<plan::DelegateSpec> resolve_delegates(const config::MetaConf& conf, ApiClient* client,
                                                  const std::optional<PodInfo>& pod,
                                                  std::optional<MissingNetwork>* missing) {
    std::vector<plan::DelegateSpec> specs = {config_primary(conf, client)};
    if (!conf.cluster_network.empty()) {
        if (pod && !contains(conf.system_namespaces, pod->namespace_)) {
            for (const auto& net : conf.default_networks) {
                specs.push_back(net_delegate(client, conf, net));
            }
        }
    } else {
        for (std::size_t i = 1; i < conf.delegates.size(); ++i) {
            specs.push_back(inline_delegate(conf.delegates[i]));
        }
        if (!conf.default_networks.empty()) {
            spdlog::warn(
                "defaultNetworks is only used together with clusterNetwork (as in Multus); "
                "ignored with inline delegates");
        }
    }
    if (!pod) {
        return specs;
    }

    bool has_default = false;
    const auto default_value = annotation(*pod, kDefaultNetworkAnnotation, &has_default);
    if (has_default) {
        std::vector<plan::Selection> sels;
        try {
            sels = parse_network_selection(default_value, conf.multus_namespace,
                                           conf.strict_annotations);
        } catch (const cni::Error& e) {
            rethrow_with_prefix(e, "tryLoadK8sPodDefaultNetwork: failed to parse CRD object: ");
        }
        if (sels.size() > 1) {
            cni::fail_config(
                "tryLoadK8sPodDefaultNetwork: more than one default network is specified: " +
                default_value);
        }
        if (!sels.empty()) {
            check_isolation(conf, *pod, sels[0], "tryLoadK8sPodDefaultNetwork");
            try {
                auto spec = kubernetes_delegate(client, sels[0].namespace_, sels[0].name,
                                                conf.conf_dir, missing);
                spec.is_primary = true;
                spec.selection = sels[0];
                specs.front() = std::move(spec);
            } catch (const cni::Error& e) {
                rethrow_with_prefix(e,
                                    "tryLoadK8sPodDefaultNetwork: failed getting the delegate: ");
            }
        }
    }

    const auto networks = annotation(*pod, kNetworksAnnotation);
    if (networks.empty()) {
        return specs;
    }
    const auto selections =
        parse_network_selection(networks, pod->namespace_, conf.strict_annotations);
    for (const auto& sel : selections) {
        check_isolation(conf, *pod, sel, "GetNetworkDelegates");
        try {
            auto spec =
                kubernetes_delegate(client, sel.namespace_, sel.name, conf.conf_dir, missing);
            spec.selection = sel;
            specs.push_back(std::move(spec));
        } catch (const cni::Error& e) {
            rethrow_with_prefix(e, "GetNetworkDelegates: failed getting the delegate: ");
        }
    }
    return specs;
}

}  // namespace splitnet::k8s
