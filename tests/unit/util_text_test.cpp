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

}  // namespace
}  // namespace splitnet::util
