// `splitnet install`, the pure half: flags (Multus' thin-entrypoint names), the choice of the
// master config, the generated node config (read back by the plugin's own config parser), the
// kubeconfig (read back by the plugin's own kubeconfig parser), and the shipped DaemonSet's
// arguments and mounts. No root, no files written.
#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/install/node_config.hpp"
#include "splitnet/install/options.hpp"
#include "splitnet/install/service_account.hpp"
#include "splitnet/k8s/kubeconfig.hpp"
#include "testutil/thrown.hpp"

namespace splitnet {
namespace {

using install::Options;
using install::parse_options;
using nlohmann::json;
using testutil::error_of;

std::string flag_error(const std::vector<std::string>& args) {
    return error_of([&] { parse_options(args); });
}

TEST(InstallOptions, DefaultsAreMultusThinEntrypointDefaults) {
    const auto o = parse_options({});
    EXPECT_EQ(o.cni_bin_dir, "/host/opt/cni/bin");
    EXPECT_EQ(o.cni_conf_dir, "/host/etc/cni/net.d");
    EXPECT_EQ(o.autoconfig_dir, "/host/etc/cni/net.d");
    EXPECT_EQ(o.conf_file, "auto");
    EXPECT_TRUE(o.log_to_stderr);
    EXPECT_FALSE(o.cleanup_config_on_exit);
    EXPECT_FALSE(o.once);
    EXPECT_EQ(o.kubeconfig_host_path, "");  // derived: see Options
    EXPECT_TRUE(o.guard_bypassed_pods);
    EXPECT_EQ(o.remove_taint, "");
}

TEST(InstallOptions, NodeAgentFlags) {
    const auto o = parse_options(
        {"--guard-bypassed-pods=false", "--remove-taint", "splitnet.io/agent-not-ready"});
    EXPECT_FALSE(o.guard_bypassed_pods);
    EXPECT_EQ(o.remove_taint, "splitnet.io/agent-not-ready");
    EXPECT_NE(flag_error({"--guard-bypassed-pods=off"}).find("expected true or false"),
              std::string::npos);
}

TEST(InstallOptions, ValuesAndBooleansInEveryGoFlagSpelling) {
    const auto o =
        parse_options({"--cni-bin-dir=/b", "--cni-conf-dir", "/c", "-multus-log-level=debug",
                       "--once", "--multus-log-to-stderr=false", "--cleanup-config-on-exit=true",
                       "--cluster-cidrs", "10.42.0.0/16, 10.43.0.0/16", "--watch-interval-ms=50"});
    EXPECT_EQ(o.cni_bin_dir, "/b");
    EXPECT_EQ(o.cni_conf_dir, "/c");
    EXPECT_EQ(o.log_level, "debug");
    EXPECT_TRUE(o.once);
    EXPECT_FALSE(o.log_to_stderr);
    EXPECT_TRUE(o.cleanup_config_on_exit);
    EXPECT_EQ(o.cluster_cidrs, (std::vector<std::string>{"10.42.0.0/16", "10.43.0.0/16"}));
    EXPECT_EQ(o.watch_interval, std::chrono::milliseconds(50));
}

TEST(InstallOptions, MistakesNameTheFlag) {
    EXPECT_EQ(flag_error({"--cni-bin"}),
              "install: --cni-bin: unknown flag (see `splitnet install --help`)");
    EXPECT_EQ(flag_error({"--cni-conf-dir"}),
              "install: --cni-conf-dir: needs a value (see `splitnet install --help`)");
    EXPECT_NE(flag_error({"--once=yes"}).find("expected true or false, got \"yes\""),
              std::string::npos);
    EXPECT_NE(flag_error({"--cluster-cidrs=10.42.0.0/16,nope"}).find("\"nope\" is not a CIDR"),
              std::string::npos);
    EXPECT_NE(flag_error({"--watch-interval-ms=0"}).find("[10, 3600000]"), std::string::npos);
    EXPECT_NE(flag_error({"stray"}).find("unexpected argument \"stray\""), std::string::npos);
}

TEST(InstallOptions, UsageListsEveryFlag) {
    const auto text = install::usage();
    for (const char* flag :
         {"--cni-bin-dir", "--multus-conf-file", "--cleanup-config-on-exit", "--cluster-cidrs",
          "--once", "--skip-tls-verify", "--guard-bypassed-pods", "--remove-taint"}) {
        EXPECT_NE(text.find(flag), std::string::npos) << flag;
    }
}

TEST(InstallMaster, TheLexicallyFirstConfigThatIsNotAGeneratedOne) {
    const std::vector<std::string> listing = {"10-flannel.conflist",  "05-cilium.conflist",
                                              "00-splitnet.conflist", "00-multus.conf",
                                              "01-notes.json",        ".hidden.conf",
                                              "splitnet.d",           "05-cilium.conflist.old"};
    EXPECT_EQ(install::pick_master(listing, ""), "05-cilium.conflist");
    EXPECT_EQ(install::pick_master(listing, "10-flannel.conflist"), "10-flannel.conflist");
    EXPECT_EQ(install::pick_master(listing, "99-missing.conf"), std::nullopt);
    EXPECT_EQ(install::pick_master({"00-splitnet.conf", "README"}, ""), std::nullopt);
}

json cilium_master() {
    return json::parse(R"({
  "cniVersion": "1.0.0", "name": "cilium",
  "plugins": [{"type": "cilium-cni", "capabilities": {"portMappings": true}},
              {"type": "bandwidth", "capabilities": {"bandwidth": true, "aliases": false}}]})");
}

// The document the runtime hands the plugin: for a conflist, its first plugin with the list's
// cniVersion and name injected (libcni does the same).
config::MetaConf as_plugin_sees_it(const install::NodeConfig& generated) {
    auto doc = json::parse(generated.content);
    if (doc.contains("plugins")) {
        auto plugin = doc["plugins"][0];
        plugin["cniVersion"] = doc["cniVersion"];
        plugin["name"] = doc["name"];
        doc = plugin;
    }
    return config::parse_meta_conf(doc.dump());
}

TEST(InstallNodeConfig, AConflistMasterGivesAConflistThePluginAccepts) {
    Options o;
    o.cluster_cidrs = {"10.42.0.0/16"};
    o.log_level = "debug";
    const auto generated = install::generate_node_config(cilium_master(), "/n/05-cilium.conflist",
                                                         o, install::kDefaultKubeconfigHostPath);
    EXPECT_EQ(generated.file_name, "00-splitnet.conflist");
    const auto doc = json::parse(generated.content);
    EXPECT_EQ(doc["name"], "splitnet-cni-network");
    EXPECT_EQ(doc["plugins"][0]["capabilities"],
              json::parse(R"({"portMappings": true, "bandwidth": true})"));

    const auto conf = as_plugin_sees_it(generated);
    EXPECT_EQ(conf.type, "splitnet");
    EXPECT_EQ(conf.cni_version, "1.0.0");
    ASSERT_EQ(conf.delegates.size(), 1U);
    EXPECT_EQ(conf.delegates[0], cilium_master());
    EXPECT_EQ(conf.kubeconfig, "/etc/cni/net.d/splitnet.d/splitnet.kubeconfig");
    EXPECT_EQ(conf.cluster_cidrs, o.cluster_cidrs);
    EXPECT_EQ(conf.log_level, "debug");
}

TEST(InstallNodeConfig, APre1MasterGivesAFlatConfWithTheOptionsKeys) {
    Options o;
    o.namespace_isolation = true;
    o.global_namespaces = "default,infra";
    o.log_to_stderr = false;
    o.log_file = "/var/log/splitnet.log";
    o.additional_bin_dir = "/opt/extra";
    o.readiness_indicator_file = "/etc/cni/net.d/05-cilium.conflist";
    o.override_network_name = true;
    const json master = {{"cniVersion", "0.3.1"}, {"name", "kindnet"}, {"type", "ptp"}};
    const auto generated = install::generate_node_config(master, "/n/10-kindnet.conf", o, "");
    EXPECT_EQ(generated.file_name, "00-splitnet.conf");
    EXPECT_EQ(install::sibling_config_name(generated.file_name), "00-splitnet.conflist");
    const auto conf = as_plugin_sees_it(generated);
    EXPECT_EQ(conf.name, "kindnet");
    EXPECT_TRUE(conf.namespace_isolation);
    EXPECT_EQ(conf.global_namespaces, (std::vector<std::string>{"default", "infra"}));
    EXPECT_FALSE(conf.log_to_stderr);
    EXPECT_EQ(conf.log_file, "/var/log/splitnet.log");
    EXPECT_EQ(conf.bin_dir, "/opt/extra");
    EXPECT_EQ(conf.readiness_indicator_file, "/etc/cni/net.d/05-cilium.conflist");
    EXPECT_FALSE(json::parse(generated.content).contains("capabilities"));
    EXPECT_EQ(conf.kubeconfig, "");  // none given: no key, the plugin runs without the API
}

TEST(InstallNodeConfig, ABadMasterIsRefusedNamingTheFile) {
    const auto error = [](const json& master, const Options& o = {}) {
        return error_of([&] { install::generate_node_config(master, "/n/05-x.conflist", o, ""); });
    };
    EXPECT_EQ(error(json::array()), "install: master config /n/05-x.conflist: not a JSON object");
    EXPECT_EQ(error({{"name", "x"}}), "install: master config /n/05-x.conflist: no \"cniVersion\"");
    EXPECT_NE(error({{"cniVersion", "9.9.9"}}).find("cniVersion \"9.9.9\" is not one of"),
              std::string::npos);
    EXPECT_NE(error({{"cniVersion", "1.0.0"}, {"plugins", json::array({1})}})
                  .find("a plugin entry is not a JSON object"),
              std::string::npos);
    Options pinned;
    pinned.cni_version = "0.4.0";
    EXPECT_NE(error(cilium_master(), pinned).find("cniVersion is 1.0.0 but --cni-version is 0.4.0"),
              std::string::npos);
    pinned.force_cni_version = true;
    const auto forced =
        install::generate_node_config(cilium_master(), "/n/05-x.conflist", pinned, "");
    EXPECT_EQ(forced.file_name, "00-splitnet.conf");
    EXPECT_EQ(json::parse(forced.content)["delegates"][0]["cniVersion"], "0.4.0");
}

k8s::ClusterAccess account(std::string host, std::string token) {
    k8s::ClusterAccess access;
    access.host = std::move(host);
    access.port = "6443";
    access.token = std::move(token);
    access.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    return access;
}

TEST(InstallKubeconfig, ThePluginReadsBackWhatTheInstallerWrites) {
    const auto in = account("10.43.0.1", "eyJhbGciOi.payload.sig");
    const auto out =
        k8s::parse_kubeconfig(install::service_account_kubeconfig(in, false), "/etc/cni/net.d");
    EXPECT_EQ(out.server(), "https://10.43.0.1:6443");
    EXPECT_EQ(out.token, in.token);
    EXPECT_EQ(out.ca_pem, in.ca_pem);
    EXPECT_FALSE(out.insecure_skip_tls_verify);
}

TEST(InstallKubeconfig, Ipv6HostsAndHostileTokensSurvive) {
    const auto in = account("fd00:10:43::1", "a\"b\\c: d\n# e");
    const auto out = k8s::parse_kubeconfig(install::service_account_kubeconfig(in, true), "/");
    EXPECT_EQ(out.server(), "https://[fd00:10:43::1]:6443");
    EXPECT_EQ(out.token, in.token);
    EXPECT_TRUE(out.insecure_skip_tls_verify);
    EXPECT_EQ(out.ca_pem, "");
}

// Every object of the kustomize base (deploy/kustomize), in the order its kustomization lists
// the files. The Helm chart renders the same objects (tests/e2e/test_manifests.sh).
std::vector<YAML::Node> kustomize_base() {
    const std::string dir = std::string(SPLITNET_SOURCE_DIR) + "/deploy/kustomize/";
    std::vector<YAML::Node> docs;
    for (const auto& file : YAML::LoadFile(dir + "kustomization.yaml")["resources"]) {
        for (const auto& doc : YAML::LoadAllFromFile(dir + file.as<std::string>())) {
            docs.push_back(doc);
        }
    }
    return docs;
}

// The shipped DaemonSet: its arguments parse, and every directory it writes is a host mount.
TEST(InstallDaemonSet, ArgumentsParseAndTheirDirectoriesAreMounted) {
    const auto docs = kustomize_base();
    const auto daemonset = std::find_if(docs.begin(), docs.end(), [](const YAML::Node& d) {
        return d["kind"].as<std::string>() == "DaemonSet";
    });
    ASSERT_NE(daemonset, docs.end());
    const auto pod = (*daemonset)["spec"]["template"]["spec"];
    const auto container = pod["containers"][0];
    EXPECT_EQ(container["command"][1].as<std::string>(), "install");
    // The kubelet expands $(NODE_IP) (status.hostIP) before the binary sees it.
    auto args = container["args"].as<std::vector<std::string>>();
    for (auto& arg : args) {
        if (const auto at = arg.find("$(NODE_IP)"); at != std::string::npos) {
            arg.replace(at, std::string_view("$(NODE_IP)").size(), "192.0.2.10");
        }
    }
    const auto options = parse_options(args);
    std::vector<std::string> mounts;
    for (const auto& mount : container["volumeMounts"]) {
        mounts.push_back(mount["mountPath"].as<std::string>());
    }
    const auto mounted = [&](const std::string& dir) {
        return std::any_of(mounts.begin(), mounts.end(), [&](const std::string& m) {
            return dir == m || dir.rfind(m + "/", 0) == 0;
        });
    };
    for (const auto& dir : {options.cni_bin_dir, options.cni_conf_dir, options.autoconfig_dir,
                            options.multus_cni_conf_dir}) {
        EXPECT_TRUE(mounted(dir)) << dir;
    }
    const auto account_name = pod["serviceAccountName"].as<std::string>();
    EXPECT_TRUE(std::any_of(docs.begin(), docs.end(), [&](const YAML::Node& d) {
        return d["kind"].as<std::string>() == "ServiceAccount" &&
               d["metadata"]["name"].as<std::string>() == account_name;
    }));
}

// The shipped ClusterRole had "*" on k8s.cni.cncf.io and update on every pod. It must
// grant exactly the calls the plugin and the node agent make, nothing else.
TEST(InstallDaemonSet, ClusterRoleGrantsExactlyTheApiCallsThePluginMakes) {
    const auto docs = kustomize_base();
    std::set<std::string> granted;  // "group|resource|verb"
    int roles = 0;
    for (const auto& doc : docs) {
        const auto kind = doc["kind"].as<std::string>();
        EXPECT_NE(kind, "Role") << "namespaced roles are not expected";
        if (kind != "ClusterRole") {
            continue;
        }
        ++roles;
        for (const auto& rule : doc["rules"]) {
            EXPECT_FALSE(rule["resourceNames"]) << "rules name no objects";
            EXPECT_FALSE(rule["nonResourceURLs"]) << "no non-resource URLs";
            for (const auto& group : rule["apiGroups"]) {
                for (const auto& resource : rule["resources"]) {
                    for (const auto& verb : rule["verbs"]) {
                        granted.insert(group.as<std::string>() + "|" + resource.as<std::string>() +
                                       "|" + verb.as<std::string>());
                    }
                }
            }
        }
    }
    EXPECT_EQ(roles, 1);
    const std::set<std::string> needed = {
        "k8s.cni.cncf.io|network-attachment-definitions|get",  // nad_resolver.cpp fetch_nad
        "|pods|get",                                           // pod_source.cpp, status writer
        "|pods|list",                                          // agent guard (spec.nodeName)
        "|pods|delete",                                        // agent guard
        "|pods/status|update",                                 // k8s/network_status.cpp PUT
        "|events|create",  // events.cpp post_event (plugin, agent)
        "|nodes|get",      // agent taint
        "|nodes|patch",    // agent taint
    };
    EXPECT_EQ(granted, needed);
}

}  // namespace
}  // namespace splitnet
