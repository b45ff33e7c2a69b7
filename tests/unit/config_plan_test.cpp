#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/plan/plan.hpp"

namespace splitnet {
namespace {

using nlohmann::json;

TEST(MetaConf, DefaultsMatchMultus) {
    const auto conf = config::parse_meta_conf(
        R"({"cniVersion":"1.0.0","name":"n","delegates":[{"name":"a","type":"ptp"}]})");
    EXPECT_EQ(conf.conf_dir, "/etc/cni/multus/net.d");
    EXPECT_EQ(conf.bin_dir, "/opt/cni/bin");
    EXPECT_EQ(conf.multus_namespace, "kube-system");
    EXPECT_EQ(conf.system_namespaces, std::vector<std::string>{"kube-system"});
    EXPECT_EQ(conf.global_namespaces, std::vector<std::string>{"default"});
    EXPECT_TRUE(conf.log_to_stderr);
    EXPECT_EQ(conf.result_mode, config::ResultMode::Merged);
    EXPECT_EQ(conf.delegates.size(), 1U);
}

TEST(MetaConf, KeysMatchCaseInsensitivelyExactWins) {
    const auto conf = config::parse_meta_conf(R"({"cniVersion":"1.0.0","name":"n",
        "CONFDIR":"/x","ReadinessIndicatorFile":"/ready","confdir":"/y","binDir":"/b","BINDIR":"/c",
        "globalNamespaces":" a , b ,","resultMode":"primary","delegateTimeout":0.5,"unknown":1})");
    EXPECT_EQ(conf.conf_dir, "/y");  // no exact match: the last case-folded one
    EXPECT_EQ(conf.bin_dir, "/b");   // exact match preferred
    EXPECT_EQ(conf.readiness_indicator_file, "/ready");
    EXPECT_EQ(conf.global_namespaces, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(conf.result_mode, config::ResultMode::Primary);
    EXPECT_EQ(conf.delegate_timeout.count(), 500);
}

TEST(MetaConf, BadInputGivesCodes) {
    const auto code = [](std::string_view text) {
        try {
            config::parse_meta_conf(text);
        } catch (const cni::Error& e) {
            return e.code();
        }
        return 0U;
    };
    EXPECT_EQ(code("{"), 6U);
    EXPECT_EQ(code("[]"), 6U);
    EXPECT_EQ(code(R"({"name":"n","delegates":{}})"), 7U);
    EXPECT_EQ(code(R"({"name":"n","logToStderr":"yes"})"), 7U);
    EXPECT_EQ(code(R"({"name":"n","resultMode":"all"})"), 7U);
    EXPECT_EQ(code(R"({"name":"n","delegateTimeout":-1})"), 7U);
}

TEST(NetworkConfig, ConfVersusConflist) {
    const auto conf = delegate::parse_network_config(R"({"name":"a","type":"ptp"})");
    EXPECT_FALSE(conf.is_list);
    const auto list = delegate::parse_network_config(
        R"({"name":"b","cniVersion":"0.3.1","plugins":[{"type":"macvlan"},{"type":"sbr"}]})");
    EXPECT_TRUE(list.is_list);
    EXPECT_EQ(list.plugins.size(), 2U);
    EXPECT_THROW(delegate::parse_network_config(R"({"name":"c"})"), cni::Error);
    EXPECT_THROW(delegate::parse_network_config(R"({"name":"c","plugins":[{}]})"), cni::Error);
}

TEST(NetworkConfig, BuildsPluginConfigLikeLibcni) {
    const auto net = delegate::parse_network_config(
        R"({"name":"vpn","cniVersion":"1.0.0","plugins":[{"type":"macvlan","capabilities":{"mac":true,"ips":false}}]})");
    const json caps = {{"mac", "02:00:00:00:00:09"},
                       {"ips", json::array({"10.0.0.2/24"})},
                       {"portMappings", json::array()}};
    const json prev = {{"cniVersion", "1.0.0"}};
    const auto out = json::parse(delegate::build_plugin_config(net, net.plugins[0], caps, &prev));
    EXPECT_EQ(out["name"], "vpn");
    EXPECT_EQ(out["cniVersion"], "1.0.0");
    EXPECT_EQ(out["runtimeConfig"], (json{{"mac", "02:00:00:00:00:09"}}));
    EXPECT_EQ(out["prevResult"], prev);
    const auto bare =
        json::parse(delegate::build_plugin_config(net, net.plugins[0], json::object(), nullptr));
    EXPECT_FALSE(bare.contains("runtimeConfig"));
    EXPECT_FALSE(bare.contains("prevResult"));
}

cni::Request add_request(std::string args = {}) {
    cni::Request request;
    request.verb = cni::Verb::Add;
    request.container_id = "c1";
    request.ifname = "eth0";
    request.args = std::move(args);
    return request;
}

TEST(Plan, IfnamesFollowMultus) {
    plan::DelegateSpec primary{"cluster", R"({"name":"cluster","type":"ptp"})", true, {}};
    plan::Selection named;
    named.name = "a";
    named.interface = "macvlan1";
    plan::DelegateSpec a{"ns/a", R"({"name":"a","type":"macvlan"})", false, named};
    plan::DelegateSpec b{"ns/b", R"({"name":"b","type":"macvlan"})", false, plan::Selection{}};
    const auto conf = config::parse_meta_conf(R"({"cniVersion":"1.0.0","name":"n"})");
    const auto attachments = plan::build_plan({primary, a, b}, conf, add_request(), true);
    ASSERT_EQ(attachments.size(), 3U);
    EXPECT_EQ(attachments[0].ifname, "eth0");
    EXPECT_EQ(attachments[1].ifname, "macvlan1");
    EXPECT_EQ(attachments[2].ifname, "net2");  // explicit names do not shift the numbering
}

TEST(Plan, CniArgsAndRuntimeConfigPerAttachment) {
    plan::Selection selection;
    selection.ips = {"192.168.99.99/24"};
    selection.mac = "02:4b:7c:d2:a1:f3";
    selection.cni_args = {{"foo", "bar"}};
    plan::DelegateSpec primary{"cluster", R"({"name":"cluster","type":"ptp"})", true, {}};
    plan::DelegateSpec vpn{
        "network/vpn",
        R"({"name":"vpn","plugins":[{"type":"macvlan","args":{"cni":{"foo":"x","k":1}}},{"type":"sbr"}]})",
        false, selection};
    auto conf = config::parse_meta_conf(
        R"({"cniVersion":"1.0.0","name":"n","runtimeConfig":{"portMappings":[],"io.kubernetes.cri.pod-annotations":{}}})");
    const auto request = add_request(
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=media;K8S_POD_NAME=qbt;K8S_POD_INFRA_CONTAINER_ID=c1;"
        "K8S_POD_UID=u1");
    const auto attachments = plan::build_plan({primary, vpn}, conf, request, true);
    EXPECT_EQ(attachments[0].cni_args,
              "IgnoreUnknown=true;K8S_POD_NAMESPACE=media;K8S_POD_NAME=qbt;"
              "K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1");
    EXPECT_EQ(attachments[1].cni_args,
              "IgnoreUnknown=true;K8S_POD_NAMESPACE=media;K8S_POD_NAME=qbt;"
              "K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1;MAC=02:4b:7c:d2:a1:f3;"
              "IP=192.168.99.99/24");
    EXPECT_EQ(attachments[0].runtime_config, (json{{"portMappings", json::array()}}));
    EXPECT_EQ(attachments[1].runtime_config["mac"], "02:4b:7c:d2:a1:f3");
    const auto config = json::parse(attachments[1].config);
    EXPECT_EQ(config["plugins"][0]["args"]["cni"]["foo"], "bar");  // annotation wins
    EXPECT_EQ(config["plugins"][0]["args"]["cni"]["k"], 1);
    EXPECT_EQ(config["plugins"][1]["args"]["cni"]["foo"], "bar");
    // DEL rebuilds without IP=/MAC=.
    const auto for_del = plan::build_plan({primary, vpn}, conf, request, false);
    EXPECT_EQ(for_del[1].cni_args.find("MAC="), std::string::npos);
    EXPECT_EQ(plan::pod_ref_from_args(request.args).namespace_, "media");
}

// The annotation's cni-args go where the delegate runs: a conflist with an empty "type" is run as
// a conflist (delegate::parse_network_config), so its plugins get them, not the top level.
TEST(Plan, CniArgsFollowTheConfOrConflistDecisionOfAdd) {
    plan::Selection selection;
    selection.cni_args = {{"foo", "bar"}};
    plan::DelegateSpec primary{"cluster", R"({"name":"cluster","type":"ptp"})", true, {}};
    plan::DelegateSpec vpn{"network/vpn",
                           R"({"name":"vpn","type":"","plugins":[{"type":"macvlan"}]})", false,
                           selection};
    const auto conf = config::parse_meta_conf(R"({"cniVersion":"1.0.0","name":"n"})");
    const auto attachments = plan::build_plan({primary, vpn}, conf, add_request(), true);
    ASSERT_EQ(attachments.size(), 2U);
    const auto config = json::parse(attachments[1].config);
    const auto& plugin = config.at("plugins").at(0);
    ASSERT_TRUE(plugin.contains("args"));
    EXPECT_EQ(plugin["args"]["cni"]["foo"], "bar");
    EXPECT_FALSE(config.contains("args"));
}

}  // namespace
}  // namespace splitnet
