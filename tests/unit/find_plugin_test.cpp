#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/delegate/exec_invoker.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/delegate/plugin_type.hpp"
#include "testutil/scratch_dir.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::delegate {
namespace {

using testutil::ScratchDir;

unsigned error_code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const cni::Error& e) {
        return e.code();
    }
    return 0;
}

TEST(FindPlugin, FirstRegularFileInPathOrderWinsWithoutExecBit) {
    const ScratchDir d1;
    const ScratchDir d2;
    const ScratchDir d3;
    ASSERT_EQ(::mkdir((d1 / "p").c_str(), 0755), 0);  // a directory is not a plugin
    testutil::write_file(d2 / "p", "not executable", 0644);
    testutil::write_file(d3 / "p", "#!/bin/sh\n", 0755);
    EXPECT_EQ(find_plugin("p", {d1.path(), d2.path(), d3.path()}), d2 / "p");
    EXPECT_EQ(find_plugin("p", {d3.path(), d2.path()}), d3 / "p");
    EXPECT_EQ(find_plugin("p", {d3.path() + "/"}), d3 / "p");
}

TEST(FindPlugin, MissingPluginNamesTheSearchPath) {
    const ScratchDir d1;
    const ScratchDir d2;
    try {
        find_plugin("zz", {d1.path(), d2.path()});
        FAIL() << "expected an error";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), 999U);
        EXPECT_EQ(e.msg(),
                  "failed to find plugin \"zz\" in path [" + d1.path() + " " + d2.path() + "]");
    }
}

TEST(FindPlugin, EmptyPathEntryIsNotTheCurrentDirectory) {
    const ScratchDir d1;
    testutil::write_file(d1 / "p", "#!/bin/sh\n", 0755);
    const std::string cwd = std::filesystem::current_path();
    std::filesystem::current_path(d1.path());
    EXPECT_EQ(error_code_of([] { find_plugin("p", {""}); }), 999U);
    std::filesystem::current_path(cwd);
}

TEST(FindPlugin, RejectsTypesThatAreNotFileNames) {
    const ScratchDir d1;
    testutil::write_file(d1 / "p", "#!/bin/sh\n", 0755);
    const std::vector<std::string> bad = {
        "", ".", "..", "../p", "a/b", "/bin/sh", std::string("p\0x", 3)};
    for (const auto& type : bad) {
        EXPECT_EQ(error_code_of([&] { find_plugin(type, {d1.path()}); }), 7U) << type;
    }
    EXPECT_EQ(find_plugin("p", {d1.path()}), d1 / "p");
}

// A NAD could name a meta-plugin (run as root with the NAD's own binDir/logFile) or a
// path; the type is now a plain plugin name, whatever network it comes from.
TEST(FindPlugin, RefusesMetaPluginsAndOddNames) {
    const ScratchDir d1;
    const std::vector<std::string> bad = {"splitnet", "multus",  "multus-shim",
                                          "-x",       ".hidden", "a b",
                                          "e%d",      "sh\n",    std::string(65, 'a')};
    for (const auto& type : bad) {
        testutil::write_file(d1 / "ok", "#!/bin/sh\n", 0755);
        EXPECT_EQ(error_code_of([&] { find_plugin(type, {d1.path()}); }), 7U) << type;
        EXPECT_NE(plugin_type_problem(type), "") << type;
    }
    EXPECT_EQ(plugin_type_problem(std::string(64, 'a')), "");
    for (const std::string good : {"macvlan", "host-local", "cilium-cni", "a.b_c", "9p"}) {
        EXPECT_EQ(plugin_type_problem(good), "") << good;
    }
}

// Our own binary under another name (binDir/innocent -> splitnet) is refused too.
TEST(FindPlugin, RefusesThisVeryExecutableUnderAnotherName) {
    const ScratchDir d1;
    const auto self = std::filesystem::read_symlink("/proc/self/exe");
    std::filesystem::create_symlink(self, d1 / "innocent");
    testutil::write_file(d1 / "other", "#!/bin/sh\n", 0755);
    const auto error = testutil::thrown<cni::Error>([&] { find_plugin("innocent", {d1.path()}); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), 7U);
    EXPECT_NE(error->msg().find("splitnet itself"), std::string::npos) << error->msg();
    EXPECT_EQ(find_plugin("other", {d1.path()}), d1 / "other");
}

TEST(PluginTypes, EveryPluginAndEveryIpamOfANetworkIsChecked) {
    const auto problem = [](const std::string& config) {
        return testutil::error_of(
            [&] { check_plugin_types(parse_network_config(config), "tenant/evil"); });
    };
    EXPECT_EQ(problem(R"({"name":"n","type":"macvlan","ipam":{"type":"static"}})"), "");
    EXPECT_EQ(problem(R"({"name":"n","type":"macvlan","ipam":{}})"), "");
    EXPECT_EQ(problem(R"({"name":"n","type":"macvlan","ipam":{"type":""}})"), "");
    EXPECT_EQ(problem(R"({"name":"n","plugins":[{"type":"macvlan"},{"type":"tuning"}]})"), "");
    const std::vector<std::string> refused = {
        R"({"name":"n","type":"splitnet","binDir":"/bin","delegates":[{"name":"x","type":"sh"}]})",
        R"({"name":"n","type":"multus"})",
        R"({"name":"n","type":"../../bin/sh"})",
        // not only the first plugin of a conflist
        R"({"name":"n","plugins":[{"type":"macvlan"},{"type":"multus-shim"}]})",
        // an IPAM is exec'd by the plugin from the same search path
        R"({"name":"n","type":"macvlan","ipam":{"type":"splitnet"}})",
        R"({"name":"n","plugins":[{"type":"bridge","ipam":{"type":"/bin/sh"}}]})",
        // Go decodes any case-folded key (the last one wins): every spelling counts
        R"({"name":"n","type":"macvlan","TYPE":"splitnet"})",
        R"({"name":"n","type":"macvlan","IPAM":{"Type":"multus"}})",
        R"({"name":"n","type":"macvlan","ipam":{"type":7}})",
    };
    for (const auto& config : refused) {
        const auto error = testutil::thrown<cni::Error>(
            [&] { check_plugin_types(parse_network_config(config), "tenant/evil"); });
        ASSERT_TRUE(error) << config;
        EXPECT_EQ(error->code(), 7U) << config;
        EXPECT_EQ(error->msg().rfind("network \"tenant/evil\": ", 0), 0U) << error->msg();
        EXPECT_FALSE(error->details().empty()) << config;
    }
}

PluginCall sample_call() {
    PluginCall call;
    call.verb = cni::Verb::Check;
    call.type = "macvlan";
    call.container_id = "c1";
    call.netns = "/run/netns/x";
    call.ifname = "net1";
    call.cni_args = "IgnoreUnknown=true;K8S_POD_NAME=p";
    call.cni_path = {"/opt/cni/bin", "/usr/lib/cni"};
    return call;
}

TEST(PluginEnvironment, OverridesAllCniVariablesAndKeepsTheRest) {
    const std::vector<std::string> parent = {
        "PATH=/usr/bin", "CNI_IFNAME=eth0", "CNI_COMMAND=ADD",
        "HOME=/root",    "NOEQUALS",        "CNI_ARGS=IP=1.2.3.4/24",
    };
    const auto env = plugin_environment(sample_call(), parent);
    const std::vector<std::string> expected = {
        "PATH=/usr/bin",
        "CNI_IFNAME=net1",  // keeps the inherited entry's position, takes the call's value
        "CNI_COMMAND=CHECK",
        "HOME=/root",
        "CNI_ARGS=IgnoreUnknown=true;K8S_POD_NAME=p",
        "CNI_CONTAINERID=c1",
        "CNI_NETNS=/run/netns/x",
        "CNI_PATH=/opt/cni/bin:/usr/lib/cni",
        "SPLITNET_NESTED=1",
    };
    EXPECT_EQ(env, expected);
}

TEST(PluginEnvironment, SetsEmptyValuesExplicitlyAndDeduplicatesParent) {
    PluginCall call;
    call.verb = cni::Verb::Del;
    const auto env = plugin_environment(call, {"A=1", "A=2", "CNI_NETNS=/proc/1/ns/net"});
    const std::vector<std::string> expected = {
        "A=2",         "CNI_NETNS=", "CNI_COMMAND=DEL", "CNI_CONTAINERID=",
        "CNI_IFNAME=", "CNI_ARGS=",  "CNI_PATH=",       "SPLITNET_NESTED=1",
    };
    EXPECT_EQ(env, expected);
}

}  // namespace
}  // namespace splitnet::delegate
