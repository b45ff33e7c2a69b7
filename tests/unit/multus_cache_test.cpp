#include "splitnet/store/multus_cache.hpp"

#include <string>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "testutil/scratch_dir.hpp"

namespace splitnet::store {
namespace {

using nlohmann::json;
using testutil::ScratchDir;

std::string cache_dir() {
    return std::string(SPLITNET_TEST_DATA) + "/multus-cache";
}

constexpr const char* kContainer = "3f8c0e5a1b2d";

TEST(MultusCache, ReadsTheSampleCacheIntoAttachments) {
    const auto attachments = read_multus_cache(cache_dir(), kContainer, "eth0", "0.4.0");
    ASSERT_TRUE(attachments);
    ASSERT_EQ(attachments->size(), 3U);

    const auto& master = (*attachments)[0];
    EXPECT_TRUE(master.is_primary);
    EXPECT_EQ(master.network, "cbr0");  // no Name cached: the config's name
    EXPECT_EQ(master.ifname, "eth0");
    EXPECT_EQ(master.config,
              testutil::read_file(cache_dir() + "/master.conflist"));  // byte for byte
    EXPECT_EQ(master.runtime_config, json::object());
    EXPECT_FALSE(master.selection);
    EXPECT_EQ(master.cni_args, "");

    const auto& vpn = (*attachments)[1];
    EXPECT_FALSE(vpn.is_primary);
    EXPECT_EQ(vpn.network, "ns1/vpn-net");
    EXPECT_EQ(vpn.ifname, "net1");
    EXPECT_EQ(vpn.config, testutil::read_file(cache_dir() + "/vpn-net.conf"));
    EXPECT_EQ(vpn.runtime_config, (json{{"ips", {"192.0.2.10/24", "2001:db8::10/64"}},
                                        {"mac", "02:00:5e:00:53:01"},
                                        {"deviceID", "0000:03:00.1"}}));
    ASSERT_TRUE(vpn.selection);
    EXPECT_EQ(vpn.selection->namespace_, "ns1");
    EXPECT_EQ(vpn.selection->name, "vpn-net");
    EXPECT_EQ(vpn.selection->interface, "");
    EXPECT_EQ(vpn.selection->ips, (std::vector<std::string>{"192.0.2.10/24", "2001:db8::10/64"}));
    ASSERT_TRUE(vpn.selection->default_route);
    EXPECT_EQ(*vpn.selection->default_route, std::vector<std::string>{"192.0.2.1"});

    const auto& tuned = (*attachments)[2];
    EXPECT_EQ(tuned.ifname, "tun0");  // requested name wins over net2
    EXPECT_EQ(tuned.runtime_config, (json{{"infinibandGUID", "c2:11:22:33:44:55:66:77"}}));
    // The cached conflist had no cniVersion: Multus' own is inserted, nothing else changes.
    const std::string original = testutil::read_file(cache_dir() + "/tuned.conflist");
    EXPECT_EQ(tuned.config, R"({"cniVersion":"0.4.0",)" + original.substr(1));
    EXPECT_FALSE(tuned.selection->default_route);
}

TEST(MultusCache, MissingCacheIsNullopt) {
    EXPECT_FALSE(read_multus_cache(cache_dir(), "no-such-container", "eth0", "1.0.0"));
    EXPECT_THROW(read_multus_cache(cache_dir(), "../multus-cache/3f8c0e5a1b2d", "eth0", "1.0.0"),
                 cni::Error);
}

TEST(MultusCache, DefaultNamesCountTheFullList) {
    const std::string conf = R"({"cniVersion":"1.0.0","name":"x","type":"bridge"})";
    const std::string b64 = "eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoieCIsInR5cGUiOiJicmlkZ2UifQ==";
    const json cache = json::array({
        {{"Bytes", b64}, {"ifnameRequest", "main0"}},
        {{"Bytes", b64}, {"ifnameRequest", "macvlan1"}},
        {{"Bytes", b64}, {"Name", "b"}},
    });
    const auto attachments = parse_multus_cache(cache.dump(), "eth0", "1.0.0");
    ASSERT_EQ(attachments.size(), 3U);
    EXPECT_EQ(attachments[0].ifname, "main0");  // even the master may request a name
    EXPECT_EQ(attachments[1].ifname, "macvlan1");
    EXPECT_EQ(attachments[2].ifname, "net2");
    EXPECT_EQ(attachments[2].network, "b");
    EXPECT_EQ(attachments[2].selection->name, "b");
    EXPECT_EQ(attachments[2].selection->namespace_, "");
    EXPECT_EQ(attachments[0].config, conf);
}

TEST(MultusCache, ConflistWithEmptyVersionGetsOne) {
    // base64 of {"cniVersion":"","name":"l","plugins":[{"type":"bridge"}]}
    const json cache = json::array({{
        {"Bytes",
         "eyJjbmlWZXJzaW9uIjoiIiwibmFtZSI6ImwiLCJwbHVnaW5zIjpbeyJ0eXBlIjoiYnJpZGdlIn1dfQ=="},
        {"ConfList", {{"plugins", json::array({{{"type", "bridge"}}})}}},
    }});
    const auto attachments = parse_multus_cache(cache.dump(), "eth0", "1.0.0");
    EXPECT_EQ(json::parse(attachments.at(0).config).at("cniVersion"), "1.0.0");
}

TEST(MultusCache, CorruptCacheIsADecodingFailure) {
    const ScratchDir dir;
    const auto code_of = [&](const std::string& content) {
        testutil::write_file(dir / "c1", content, 0600);
        try {
            read_multus_cache(dir.path(), "c1", "eth0", "1.0.0");
        } catch (const cni::Error& e) {
            EXPECT_NE(e.msg().find(dir / "c1"), std::string::npos) << e.msg();
            return e.code();
        }
        return 0U;
    };
    EXPECT_EQ(code_of("[{\"Bytes\":"), 6U);                   // truncated by a crash
    EXPECT_EQ(code_of("{}"), 6U);                             // not a list
    EXPECT_EQ(code_of(R"([{"Name":"a"}])"), 6U);              // no Bytes
    EXPECT_EQ(code_of(R"([{"Bytes":"!!!!"}])"), 6U);          // not base64
    EXPECT_EQ(code_of(R"([{"Bytes":"bm90IGpzb24="}])"), 6U);  // "not json"
    EXPECT_EQ(code_of(R"([{"Bytes":"e30=","ipRequest":"1.2.3.4"}])"), 6U);
    EXPECT_EQ(code_of(R"([{"Bytes":"e30="}])"), 0U);  // "{}" decodes fine
}

TEST(LibcniResultCache, ReadsTheResultObject) {
    const auto result = read_libcni_result(cache_dir(), "vpn-net", kContainer, "net1");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->at("cniVersion"), "1.0.0");
    EXPECT_EQ(result->at("ips").at(0).at("address"), "192.0.2.10/24");
}

TEST(LibcniResultCache, MissingUnreadableOrUnsafeIsNullopt) {
    EXPECT_FALSE(read_libcni_result(cache_dir(), "vpn-net", kContainer, "net2"));
    EXPECT_FALSE(read_libcni_result(cache_dir(), "vpn-net", "../../x", "net1"));
    EXPECT_FALSE(read_libcni_result(cache_dir(), "", kContainer, "net1"));
    const ScratchDir dir;
    std::filesystem::create_directory(dir / "results");
    testutil::write_file(dir / "results/n-c-eth0", R"({"kind":"cniCacheV1","result":)", 0600);
    EXPECT_FALSE(read_libcni_result(dir.path(), "n", "c", "eth0"));
    testutil::write_file(dir / "results/n-c-eth0", R"({"kind":"cniCacheV1"})", 0600);
    EXPECT_FALSE(read_libcni_result(dir.path(), "n", "c", "eth0"));
    testutil::write_file(dir / "results/n-c-eth0", R"({"result":{"cniVersion":"0.4.0"}})", 0600);
    EXPECT_EQ(read_libcni_result(dir.path(), "n", "c", "eth0"), (json{{"cniVersion", "0.4.0"}}));
}

}  // namespace
}  // namespace splitnet::store
