#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/version.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::util {
namespace {

using Pieces = std::vector<std::string_view>;

TEST(Text, TrimRemovesAsciiWhiteSpaceAtBothEnds) {
    EXPECT_EQ(trim("  a b \t"), "a b");
    EXPECT_EQ(trim("\n\v\f\r x"), "x");
    EXPECT_EQ(trim(" \t "), "");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim("x"), "x");
}

TEST(Text, IequalsIgnoresAsciiCaseOnly) {
    EXPECT_TRUE(iequals("cniVersion", "CNIVERSION"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("name", "names"));
    EXPECT_FALSE(iequals("a_b", "a-b"));
}

TEST(Text, SplitKeepsEmptyPieces) {
    EXPECT_EQ(split("a,,b", ','), (Pieces{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (Pieces{""}));
    EXPECT_EQ(split(",", ','), (Pieces{"", ""}));
    EXPECT_EQ(split("ns/name@if", '/'), (Pieces{"ns", "name@if"}));
}

TEST(Text, VersionDocumentListsEverySupportedVersion) {
    const auto doc = nlohmann::json::parse(cni::version_document());
    EXPECT_EQ(doc["cniVersion"], "1.1.0");
    ASSERT_EQ(doc["supportedVersions"].size(), cni::kSupportedVersions.size());
    EXPECT_EQ(doc["supportedVersions"].front(), "0.1.0");
}

TEST(Text, PortIsDecimalFrom1To65535WithoutLeadingZero) {
    EXPECT_EQ(parse_port("1"), 1);
    EXPECT_EQ(parse_port("65535"), 65535);
    for (const char* bad : {"", "0", "65536", "102315", "044", "-1", "+443", " 443", "443 ",
                            "0x1bb", "44x", "99999999999999999999"}) {
        EXPECT_FALSE(parse_port(bad)) << bad;
    }
}

TEST(Text, HostPortSplitsOneColonOrBracketedIpv6) {
    const auto v4 = split_host_port("127.0.0.1:9234");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 9234);
    EXPECT_FALSE(v4->bracketed);
    const auto v6 = split_host_port("[2001:db8::1]:443");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "2001:db8::1");
    EXPECT_EQ(v6->port, 443);
    EXPECT_TRUE(v6->bracketed);
    for (const char* bad : {"127.0.0.1", ":80", "[]:80", "2001:db8::1:443", "[::1]", "[::1]80",
                            "a:b:80", "host:0", "host:"}) {
        EXPECT_FALSE(split_host_port(bad)) << bad;
    }
}

}  // namespace
}  // namespace splitnet::util
