#include <array>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/net/ip.hpp"
#include "splitnet/net/link.hpp"

namespace splitnet::net {
namespace {

TEST(NetIp, ParsesAndFormatsLikeGo) {
    struct Case {
        const char* in;
        const char* out;  // nullptr: rejected
    };

    const auto cases = std::to_array<Case>({
        {"192.0.2.1", "192.0.2.1"},
        {"3ffe:ffff:0:01ff::1", "3ffe:ffff:0:1ff::1"},
        {"3ffe:ffff:0::1", "3ffe:ffff::1"},
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
        {"::1", "::1"},
        {"::", "::"},
        {"::102:304", "::102:304"},  // glibc would print ::1.2.3.4
        {"::ffff:192.0.2.1", "192.0.2.1"},
        {"2001:DB8::A", "2001:db8::a"},
        {"192.0.2.01", nullptr},
        {"192.0.2", nullptr},
        {"zzz", nullptr},
        {"", nullptr},
        {"192.0.2.1/24", nullptr},
    });
    for (const auto& c : cases) {
        const auto ip = parse_ip(c.in);
        if (c.out == nullptr) {
            EXPECT_FALSE(ip) << c.in;
        } else {
            ASSERT_TRUE(ip) << c.in;
            EXPECT_EQ(to_string(*ip), c.out) << c.in;
        }
    }
}

TEST(NetIp, ParsesCidrKeepingHostBits) {
    auto net = parse_cidr("10.10.0.1/24");
    ASSERT_TRUE(net);
    EXPECT_EQ(to_string(*net), "10.10.0.1/24");
    EXPECT_EQ(to_string(network_of(*net)), "10.10.0.0/24");
    EXPECT_EQ(to_string(broadcast_of(*net)), "10.10.0.255");
    EXPECT_TRUE(contains(*net, *parse_ip("10.10.0.200")));
    EXPECT_FALSE(contains(*net, *parse_ip("10.10.1.1")));
    EXPECT_FALSE(contains(*net, *parse_ip("2001:db8::1")));

    auto v6 = parse_cidr("2001:db8:1::5/64");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->addr.family, AF_INET6);
    EXPECT_TRUE(contains(*v6, *parse_ip("2001:db8:1::ffff")));
    EXPECT_EQ(to_string(network_of(*parse_cidr("192.0.2.77/27"))), "192.0.2.64/27");
    EXPECT_EQ(to_string(broadcast_of(*parse_cidr("192.0.2.77/27"))), "192.0.2.95");

    for (const char* bad : {"10.0.0.1", "10.0.0.1/33", "2001:db8::/129", "10.0.0.1/-1", "10.0.0.1/",
                            "/24", "10.0.0.1/2a", "zz/8"}) {
        EXPECT_FALSE(parse_cidr(bad)) << bad;
    }
}

TEST(NetIp, MacParsingAndUnicast) {
    auto mac = parse_mac("02:00:DD:22:9f:a3");
    ASSERT_TRUE(mac);
    EXPECT_EQ(to_string(*mac), "02:00:dd:22:9f:a3");
    EXPECT_TRUE(is_unicast_mac(*mac));
    EXPECT_EQ(to_string(*parse_mac("02-00-dd-22-9f-a3")), "02:00:dd:22:9f:a3");
    EXPECT_EQ(to_string(*parse_mac("0200.dd22.9fa3")), "02:00:dd:22:9f:a3");
    EXPECT_FALSE(is_unicast_mac(*parse_mac("01:00:5e:00:00:01")));
    EXPECT_FALSE(is_unicast_mac(*parse_mac("00:00:00:00:00:00")));
    EXPECT_FALSE(is_unicast_mac(*parse_mac("ff:ff:ff:ff:ff:ff")));
    for (const char* bad : {"zz", "02:00:dd:22:9f", "02:00:dd:22:9f:a3:01", "02:00-dd:22:9f:a3",
                            "0g:00:dd:22:9f:a3"}) {
        EXPECT_FALSE(parse_mac(bad)) << bad;
    }
}

TEST(NetIp, MacvlanModeNames) {
    for (const char* name : {"private", "vepa", "bridge", "passthru", "source"}) {
        auto mode = parse_macvlan_mode(name);
        ASSERT_TRUE(mode) << name;
        EXPECT_EQ(to_string(*mode), name);
    }
    EXPECT_FALSE(parse_macvlan_mode(""));
    EXPECT_FALSE(parse_macvlan_mode("Bridge"));
}

}  // namespace
}  // namespace splitnet::net
