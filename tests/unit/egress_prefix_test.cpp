#include "splitnet/attach/egress_prefix.hpp"

#include <gtest/gtest.h>

namespace splitnet::attach {
namespace {

TEST(EgressPrefix, ParsesAndPrintsBothFamilies) {
    const auto v4 = parse_prefix("10.42.0.0/16");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, 4);
    EXPECT_EQ(v4->length, 16);
    EXPECT_EQ(v4->to_string(), "10.42.0.0/16");
    const auto v6 = parse_prefix("2001:DB8::/32");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, 6);
    EXPECT_EQ(v6->to_string(), "2001:db8::/32");
}

TEST(EgressPrefix, RejectsMalformed) {
    for (const char* bad : {"", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
                            "10.0.0.0/08", "10.0.0/8", "::/129", "x/8", "10.0.0.0/8 "}) {
        EXPECT_FALSE(parse_prefix(bad)) << bad;
    }
    EXPECT_TRUE(parse_prefix("10.0.0.1", true));
    EXPECT_FALSE(parse_address("10.0.0.1/32"));
}

TEST(EgressPrefix, NetworkAndContainment) {
    const auto p = *parse_prefix("172.20.5.7/12");
    EXPECT_TRUE(p.has_host_bits());
    EXPECT_EQ(p.network().to_string(), "172.16.0.0/12");
    const auto net = p.network();
    EXPECT_TRUE(net.contains(*parse_address("172.31.255.255")));
    EXPECT_FALSE(net.contains(*parse_address("172.32.0.0")));
    EXPECT_TRUE(net.contains(*parse_prefix("172.16.0.0/16")));
    EXPECT_FALSE(parse_prefix("172.16.0.0/16")->contains(net));
    EXPECT_FALSE(net.contains(*parse_address("::1")));
    EXPECT_TRUE(default_prefix(6).contains(*parse_address("2001:db8::1")));
    EXPECT_EQ(parse_prefix("2001:db8:ffff::1/33")->network().to_string(), "2001:db8:8000::/33");
}

}  // namespace
}  // namespace splitnet::attach
