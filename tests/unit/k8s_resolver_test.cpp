#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/nad_resolver.hpp"
#include "testutil/fake_apiserver.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::k8s {
namespace {

using nlohmann::json;
using testutil::error_of;

PodInfo pod_in(const std::string& ns, json annotations = json::object()) {
    return PodInfo{ns, "pod", "uid-1", std::move(annotations), true};
}

TEST(Resolver, InlineDelegatesAllUsedFirstIsPrimary) {
    config::MetaConf conf;
    conf.delegates = {json::parse(R"({"type":"bridge","name":"cbr0","cniVersion":"0.3.1"})"),
                      json::parse(R"({"name":"extra","plugins":[{"type":"tuning"}]})")};
    conf.default_networks = {"ignored-without-clusterNetwork"};
    const auto specs = resolve_delegates(conf, nullptr, std::nullopt);
    ASSERT_EQ(specs.size(), 2U);
    EXPECT_EQ(specs[0].name, "cbr0");
    EXPECT_TRUE(specs[0].is_primary);
    EXPECT_EQ(specs[0].config, R"({"cniVersion":"0.3.1","name":"cbr0","type":"bridge"})");
    EXPECT_EQ(specs[1].name, "extra");
    EXPECT_FALSE(specs[1].is_primary);
    EXPECT_FALSE(specs[1].selection.has_value());
}

TEST(Resolver, ClusterNetworkFromFilesAndDefaultNetworks) {
    testutil::ScratchDir dir;
    dir.write("confdir/10-flannel.conflist",
              R"({"name":"flannel","plugins":[{"type":"flannel"}]})");
    dir.write("confdir/20-extra.conf", R"({"name":"extra","type":"macvlan"})");
    config::MetaConf conf;
    conf.conf_dir = dir.path() + "/confdir";
    conf.delegates = {
        json::parse(R"({"type":"ignored","name":"ignored"})")};  // clusterNetwork wins
    conf.default_networks = {"extra"};
    for (const std::string& cluster_network :
         {std::string("flannel"), conf.conf_dir, conf.conf_dir + "/10-flannel.conflist"}) {
        conf.cluster_network = cluster_network;
        const auto specs = resolve_delegates(conf, nullptr, pod_in("media"));
        ASSERT_EQ(specs.size(), 2U) << cluster_network;
        EXPECT_EQ(specs[0].name, "flannel");
        EXPECT_TRUE(specs[0].is_primary);
        EXPECT_EQ(specs[1].name, "extra");
        // systemNamespaces pods and "no pod" skip defaultNetworks.
        EXPECT_EQ(resolve_delegates(conf, nullptr, pod_in("kube-system")).size(), 1U);
        EXPECT_EQ(resolve_delegates(conf, nullptr, std::nullopt).size(), 1U);
    }
    conf.cluster_network = "missing";
    EXPECT_NE(error_of([&] { resolve_delegates(conf, nullptr, std::nullopt); })
                  .find("GetDefaultNetworks: failed to get clusterNetwork missing in namespace "
                        "kube-system"),
              std::string::npos);
}

TEST(Resolver, NetworksWithoutApiAccessIsAnError) {
    config::MetaConf conf;
    conf.delegates = {json::parse(R"({"type":"bridge","name":"cbr0"})")};
    const auto pod = pod_in("media", {{"k8s.v1.cni.cncf.io/networks", "unifi-vpn"}});
    EXPECT_NE(
        error_of([&] { resolve_delegates(conf, nullptr, pod); }).find("no Kubernetes API access"),
        std::string::npos);
    // An empty annotation means no secondary networks.
    EXPECT_EQ(
        resolve_delegates(conf, nullptr, pod_in("media", {{"k8s.v1.cni.cncf.io/networks", ""}}))
            .size(),
        1U);
}

TEST(Resolver, NamespaceIsolationRejectsBeforeAnyLookup) {
    config::MetaConf conf;
    conf.delegates = {json::parse(R"({"type":"bridge","name":"cbr0"})")};
    conf.namespace_isolation = true;
    const auto pod = pod_in("media", {{"k8s.v1.cni.cncf.io/networks", "other/net-a"}});
    EXPECT_EQ(error_of([&] { resolve_delegates(conf, nullptr, pod); }),
              "GetNetworkDelegates: namespace isolation enabled, annotation violates permission, "
              "pod is in namespace media but refers to target namespace other");
}

// The default-network annotation used to skip the isolation check, so a pod could take
// a NAD of kube-system (the multusNamespace default) or any other namespace as its eth0.
TEST(Resolver, NamespaceIsolationAlsoGuardsTheDefaultNetworkAnnotation) {
    config::MetaConf conf;
    conf.delegates = {json::parse(R"({"type":"bridge","name":"cbr0"})")};
    conf.namespace_isolation = true;
    for (const std::string value : {"primary-nad", "kube-system/primary-nad", "other/primary-nad",
                                    R"([{"name":"primary-nad","namespace":"other"}])"}) {
        const auto pod = pod_in("tenant", {{"v1.multus-cni.io/default-network", value}});
        const auto message = error_of([&] { resolve_delegates(conf, nullptr, pod); });
        EXPECT_NE(message.find("tryLoadK8sPodDefaultNetwork: namespace isolation enabled"),
                  std::string::npos)
            << value << ": " << message;
        EXPECT_NE(message.find("pod is in namespace tenant"), std::string::npos) << message;
    }
    // Its own namespace, and a global namespace, pass the check (and then need the API).
    conf.global_namespaces = {"default", "shared"};
    for (const std::string value : {"tenant/primary-nad", "shared/primary-nad"}) {
        const auto pod = pod_in("tenant", {{"v1.multus-cni.io/default-network", value}});
        const auto message = error_of([&] { resolve_delegates(conf, nullptr, pod); });
        EXPECT_EQ(message.find("isolation"), std::string::npos) << value << ": " << message;
        EXPECT_NE(message.find("no Kubernetes API access"), std::string::npos) << message;
    }
    // Without isolation, Multus' behaviour stays: kube-system is the default namespace.
    conf.namespace_isolation = false;
    const auto pod = pod_in("tenant", {{"v1.multus-cni.io/default-network", "primary-nad"}});
    EXPECT_EQ(error_of([&] { resolve_delegates(conf, nullptr, pod); }).find("isolation"),
              std::string::npos);
}

}  // namespace
}  // namespace splitnet::k8s
