// The crashes the fuzz harnesses found (tests/fuzz/regressions, docs/security.md#fuzzing), as
// clean CNI errors with their codes. On main each of these let a nlohmann or yaml-cpp exception
// escape (code 999 at best) or cast a float out of range.

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/kubeconfig.hpp"
#include "splitnet/plan/plan.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "testutil/thrown.hpp"

namespace splitnet {
namespace {

using testutil::thrown;

TEST(FuzzFindings, NumberBeyondDoubleIsADecodingError) {
    const auto meta = thrown<cni::Error>(
        [] { (void)config::parse_meta_conf(R"({"name":"n","readinessTimeout":1e400})"); });
    ASSERT_TRUE(meta);
    EXPECT_EQ(meta->code(), static_cast<unsigned>(cni::ErrorCode::DecodingFailure));
    const auto delegate = thrown<cni::Error>(
        [] { (void)delegate::parse_network_config(R"({"type":"ptp","mtu":-1e400})"); });
    ASSERT_TRUE(delegate);
    EXPECT_EQ(delegate->code(), static_cast<unsigned>(cni::ErrorCode::DecodingFailure));
    EXPECT_TRUE(thrown<cni::Error>([] {
        (void)k8s::parse_network_selection(R"([{"name":"a","mtu":1e400}])", "default", false);
    }));
}

TEST(FuzzFindings, PortNumberOutsideInt64IsRejected) {
    for (const char* port : {"1e300", "-1e19", "18446744073709551615", "1.5"}) {
        const auto error = thrown<cni::Error>([port] {
            (void)k8s::parse_network_selection(
                std::string(R"([{"name":"a","portMappings":[{"hostPort":)") + port + "}]}]",
                "default", false);
        });
        ASSERT_TRUE(error) << port;
        EXPECT_NE(std::string(error->what()).find("portMappings.hostPort of type int"),
                  std::string::npos)
            << error->what();
    }
    const auto sels = k8s::parse_network_selection(
        R"([{"name":"a","portMappings":[{"hostPort":8080.0,"containerPort":80}]}])", "default",
        false);
    ASSERT_EQ(sels.size(), 1U);
    EXPECT_EQ(sels[0].port_mappings[0]["hostPort"], 8080);
}

TEST(FuzzFindings, KubeconfigWithWrongNodeKindsIsAConfigError) {
    for (const char* yaml :
         {"current-context: a\ncontexts: [a]\n", "current-context: a\ncontexts:\n- name: [a]\n",
          "current-context: a\ncontexts:\n- name: a\n  context: x\n"}) {
        const auto error =
            thrown<cni::Error>([yaml] { (void)k8s::parse_kubeconfig(yaml, "/nonexistent"); });
        ASSERT_TRUE(error) << yaml;
        EXPECT_EQ(error->code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        EXPECT_NE(std::string(error->what()).find("kubeconfig"), std::string::npos);
    }
}

TEST(FuzzFindings, NonStringNamesAndVersions) {
    // {"name":5,"type":"ptp"} in a Multus cache: Name from the config, which is not a string.
    const auto cached =
        store::parse_multus_cache(R"([{"Bytes":"eyJuYW1lIjo1LCJ0eXBlIjoicHRwIn0="}])", "eth0", "");
    ASSERT_EQ(cached.size(), 1U);
    EXPECT_EQ(cached[0].network, "");
    const auto config = thrown<cni::Error>(
        [] { (void)delegate::parse_network_config(R"({"name":5,"type":"ptp"})"); });
    ASSERT_TRUE(config);
    EXPECT_EQ(config->code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
    EXPECT_STREQ(config->what(), R"(invalid delegate configuration: "name" must be a string)");
}

TEST(FuzzFindings, CniArgsIntoANonObjectPluginIsAConfigError) {
    plan::Selection selection;
    selection.name = "vpn";
    selection.cni_args = {{"a", 1}};
    const std::vector<plan::DelegateSpec> specs = {
        {"primary", R"({"cniVersion":"1.0.0","name":"p","type":"ptp"})", true, {}},
        {"default/vpn", R"({"cniVersion":"1.0.0","name":"vpn","plugins":[{"type":"x"},1]})", false,
         selection}};
    cni::Request request;
    request.ifname = "eth0";
    const auto error = thrown<cni::Error>(
        [&] { (void)plan::build_plan(specs, config::MetaConf{}, request, true); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
}

}  // namespace
}  // namespace splitnet
