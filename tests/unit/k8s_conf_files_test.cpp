#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/conf_files.hpp"
#include "testutil/fake_apiserver.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::config {
namespace {

using testutil::error_of;

TEST(NameInjection, OnlyWhenMissingOrEmpty) {
    const std::string named = R"({"cniVersion":"1.0.0", "name":"keep", "type":"macvlan"})";
    EXPECT_EQ(inject_network_name(named, "nad"), named);  // verbatim bytes
    EXPECT_EQ(
        inject_network_name(R"({"type":"macvlan","master":"eth0","mode":"bridge"})", "unifi-vpn"),
        R"({"master":"eth0","mode":"bridge","name":"unifi-vpn","type":"macvlan"})");
    EXPECT_EQ(inject_network_name(R"({"name":"","plugins":[{"type":"a"}]})", "n"),
              R"({"name":"n","plugins":[{"type":"a"}]})");
    EXPECT_THROW(inject_network_name("[1]", "n"), cni::Error);
}

TEST(ConfDir, LexicalOrderMatchOnNameAllExtensions) {
    testutil::ScratchDir dir;
    dir.write("10-b.conflist", R"({"name":"shared","plugins":[{"type":"bridge"}]})");
    dir.write("20-a.conf", R"({"name":"shared","type":"macvlan"})");
    dir.write("30-c.json", R"({"name":"vpn","type":"macvlan"})");
    dir.write("40-ignored.txt", R"({"name":"txt","type":"x"})");
    dir.write("sub.conf/inner.conf", R"({"name":"inner","type":"x"})");
    EXPECT_NE(config_from_conf_dir("shared", dir.path()).find("bridge"), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(config_from_conf_dir("vpn", dir.path()))["name"], "vpn");
    EXPECT_NE(config_from_conf_dir("", dir.path()).find("bridge"),
              std::string::npos);  // first file
    EXPECT_EQ(error_of([&] { config_from_conf_dir("txt", dir.path()); }),
              "no network available in the name txt in cni dir " + dir.path());
    EXPECT_EQ(error_of([&] { config_from_conf_dir("x", dir.path() + "/missing"); }),
              "No networks found in " + dir.path() + "/missing");
}

TEST(ConfDir, MatchingConfWithoutTypeIsAnError) {
    testutil::ScratchDir dir;
    dir.write("00-list.conf", R"({"name":"oops","plugins":[{"type":"bridge"}]})");
    EXPECT_NE(error_of([&] {
                  config_from_conf_dir("oops", dir.path());
              }).find("no 'type'; perhaps this is a .conflist?"),
              std::string::npos);
}

TEST(ConfPath, DirectoryFileAndConflistChaining) {
    testutil::ScratchDir dir;
    dir.write("net.d/05-cilium.conflist",
              R"({"cniVersion":"0.3.1","name":"cilium","plugins":[{"type":"cilium-cni"}]})");
    dir.write("net.d/10-other.conf", R"({"name":"other","type":"bridge"})");
    dir.write("net.d/cilium/50-extra.conf",
              R"({"type":"portmap","capabilities":{"portMappings":true}})");
    dir.write("only-json/a.json", R"({"name":"j","type":"bridge"})");
    dir.write("plain.conf", R"({"name":"plain","type":"bridge"})");
    dir.write("untyped.conf", R"({"name":"plain"})");

    // A directory: its lexically first config, a .conflist here, with chaining not applied.
    EXPECT_EQ(nlohmann::json::parse(config_from_path(dir.path() + "/net.d"))["name"], "cilium");
    // A .conflist path: the subdirectory plugins are appended.
    const auto chained =
        nlohmann::json::parse(config_from_path(dir.path() + "/net.d/05-cilium.conflist"));
    ASSERT_EQ(chained["plugins"].size(), 2U);
    EXPECT_EQ(chained["plugins"][1]["type"], "portmap");
    EXPECT_EQ(nlohmann::json::parse(config_from_path(dir.path() + "/plain.conf"))["name"], "plain");
    EXPECT_NE(error_of([&] { config_from_path(dir.path() + "/untyped.conf"); }).find("no 'type'"),
              std::string::npos);
    EXPECT_NE(
        error_of([&] { config_from_path(dir.path() + "/only-json"); }).find("cannot find network"),
        std::string::npos);
    EXPECT_NE(error_of([&] { config_from_path(dir.path() + "/nope.conf"); }).find("no such file"),
              std::string::npos);
}

TEST(DelegateConfig, ConfVersusConflist) {
    EXPECT_EQ(check_delegate_config(R"({"name":"a","type":"macvlan","plugins":[]})"), "a");
    EXPECT_EQ(check_delegate_config(R"({"name":"l","plugins":[{"type":"bridge"}]})"), "l");
    EXPECT_EQ(check_delegate_config(R"({"Name":"c","TYPE":"x"})"), "c");  // Go key folding
    EXPECT_EQ(error_of([] { check_delegate_config(R"({"name":"x"})"); }),
              "LoadDelegateNetConf: failed with: LoadDelegateNetConfList: delegate must have the "
              "'type' or 'plugin' field");
    EXPECT_EQ(error_of([] { check_delegate_config(R"({"name":"x","plugins":[{"name":"y"}]})"); }),
              "LoadDelegateNetConf: failed with: LoadDelegateNetConfList: a plugin delegate must "
              "have the 'type' field");
}

}  // namespace
}  // namespace splitnet::config
