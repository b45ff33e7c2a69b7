#include "splitnet/cni/result.hpp"

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/version.hpp"

namespace splitnet::cni {
namespace {

using nlohmann::json;

json sample_v1() {
    return json::parse(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/run/netns/p","mtu":1400}],
      "ips":[{"interface":0,"address":"198.51.100.10/24","gateway":"198.51.100.1"},
             {"interface":0,"address":"2001:db8::10/64"}],
      "routes":[{"dst":"203.0.113.0/24"},{"dst":"10.99.0.0/16","gw":"198.51.100.254","table":100}],
      "dns":{"nameservers":["9.9.9.9"]}})");
}

class ResultPerVersion : public ::testing::TestWithParam<std::string_view> {};

TEST_P(ResultPerVersion, EncodesTheVersionShape) {
    const std::string version(GetParam());
    const auto out = result_to_json(parse_result(sample_v1(), "1.0.0"), version);
    EXPECT_EQ(out.at("cniVersion"), version);
    if (!version_at_least(version, "0.3.0")) {
        EXPECT_EQ(out.at("ip4").at("ip"), "198.51.100.10/24");
        EXPECT_EQ(out.at("ip4").at("gateway"), "198.51.100.1");
        EXPECT_EQ(out.at("ip6").at("ip"), "2001:db8::10/64");
        EXPECT_EQ(out.at("ip4").at("routes").size(), 2U);
        EXPECT_FALSE(out.contains("interfaces"));
        return;
    }
    const bool v1 = version_at_least(version, "1.0.0");
    for (const auto& ip : out.at("ips")) {
        EXPECT_EQ(ip.contains("version"), !v1) << ip;
        EXPECT_EQ(ip.at("interface"), 0);
    }
    if (!v1) {
        EXPECT_EQ(out["ips"][0]["version"], "4");
        EXPECT_EQ(out["ips"][1]["version"], "6");
    }
    EXPECT_EQ(out["interfaces"][0].contains("mtu"), v1);
    EXPECT_EQ(out["routes"][1]["table"], 100);
    EXPECT_EQ(out["dns"]["nameservers"][0], "9.9.9.9");
    // Round trip through the encoded version keeps the data.
    const auto again = parse_result(out, version);
    EXPECT_EQ(again.ips.size(), 2U);
    EXPECT_EQ(again.routes[1].gw, "198.51.100.254");
}

INSTANTIATE_TEST_SUITE_P(AllVersions, ResultPerVersion, ::testing::ValuesIn(kSupportedVersions));

TEST(Result, LegacyInputIsUpConverted) {
    const auto legacy = json::parse(R"({"cniVersion":"0.2.0",
      "ip4":{"ip":"10.1.2.3/24","gateway":"10.1.2.1","routes":[{"dst":"0.0.0.0/0"}]},
      "ip6":{"ip":"fd00::3/64"}})");
    const auto out = result_to_json(parse_result(legacy, "0.2.0"), "0.4.0");
    ASSERT_EQ(out["ips"].size(), 2U);
    EXPECT_EQ(out["ips"][0]["version"], "4");
    EXPECT_FALSE(out["ips"][0].contains("interface"));
    EXPECT_EQ(out["routes"][0]["dst"], "0.0.0.0/0");
}

TEST(Result, MissingVersionReadsAsFallback) {
    const auto doc = json::parse(R"({"ips":[{"address":"10.0.0.2/8"}]})");
    EXPECT_EQ(parse_result(doc, "0.4.0").cni_version, "0.4.0");
}

TEST(Result, L2OnlyCannotGoToLegacy) {
    const auto doc = json::parse(R"({"cniVersion":"1.0.0","interfaces":[{"name":"net1"}]})");
    try {
        result_to_json(parse_result(doc, "1.0.0"), "0.2.0");
        FAIL() << "expected a conversion error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cannot convert: no valid IP addresses");
    }
}

TEST(Result, RejectsGarbage) {
    EXPECT_THROW(parse_result(json::array(), "1.0.0"), Error);
    EXPECT_THROW(parse_result(json::parse(R"({"cniVersion":"9.9.9"})"), "1.0.0"), Error);
    EXPECT_THROW(parse_result(json::parse(R"({"cniVersion":"1.0.0","ips":{}})"), "1.0.0"), Error);
    EXPECT_THROW(
        parse_result(json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":5}]})"), "1.0.0"),
        Error);
}

}  // namespace
}  // namespace splitnet::cni
