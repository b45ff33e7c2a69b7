#include <array>
#include <string_view>

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

TEST(NetIp, FormatsLikeGoNetIpString) {
    // The reference cases of Go's net.IP.String() (RFC 5952): the network-status and
    // default-route values must stay byte-equal to what Multus writes.
    EXPECT_EQ(to_string(*parse_ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
    EXPECT_EQ(to_string(*parse_ip("2001:db8:0:1:0:0:0:1")), "2001:db8:0:1::1");
    EXPECT_EQ(to_string(*parse_ip("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
    EXPECT_EQ(to_string(*parse_ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");     // first run
    EXPECT_EQ(to_string(*parse_ip("2001:db8:1:0:1:1:1:1")), "2001:db8:1:0:1:1:1:1");  // one 0 kept
    EXPECT_EQ(to_string(*parse_ip("::1.2.3.4")), "::102:304");
    EXPECT_EQ(to_string(*parse_ip("::")), "::");
    // The mapped form is IPv4 to Go, parsed or kept as a 16-byte prefix address.
    EXPECT_TRUE(parse_ip("::ffff:192.0.2.1")->is_v4());
    const auto mapped = parse_cidr("::ffff:192.0.2.0/120");
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->family(), Family::V6);
    EXPECT_EQ(to_string(mapped->addr), "192.0.2.0");
    EXPECT_FALSE(parse_ip("fe80::1%eth0"));
    EXPECT_FALSE(parse_ip(std::string_view("192.0.2.1\0junk", 14)));
}

TEST(NetIp, FamilyConversionsAtTheEdges) {
    EXPECT_EQ(address_family(Family::V4), AF_INET);
    EXPECT_EQ(address_family(Family::V6), AF_INET6);
    EXPECT_EQ(family_from_af(AF_INET6), Family::V6);
    EXPECT_EQ(family_from_af(AF_INET), Family::V4);
    EXPECT_FALSE(family_from_af(AF_UNSPEC));
    EXPECT_EQ(ip_version(Family::V4), 4);
    EXPECT_EQ(ip_version(Family::V6), 6);
    EXPECT_EQ(family_name(Family::V6), "IPv6");
    EXPECT_EQ(to_string(default_prefix(Family::V4)), "0.0.0.0/0");
    EXPECT_EQ(to_string(default_prefix(Family::V6)), "::/0");
    EXPECT_EQ(parse_ip("2001:db8::1")->max_prefix(), 128);
}

TEST(NetIp, ParsesCidrKeepingHostBits) {
    auto net = parse_cidr("10.10.0.1/24");
    ASSERT_TRUE(net);
    EXPECT_EQ(to_string(*net), "10.10.0.1/24");
    EXPECT_EQ(to_string(net->network()), "10.10.0.0/24");
    EXPECT_EQ(to_string(broadcast_of(*net)), "10.10.0.255");
    EXPECT_TRUE(net->contains(*parse_ip("10.10.0.200")));
    EXPECT_FALSE(net->contains(*parse_ip("10.10.1.1")));
    EXPECT_FALSE(net->contains(*parse_ip("2001:db8::1")));

    auto v6 = parse_cidr("2001:db8:1::5/64");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->addr.family, Family::V6);
    EXPECT_TRUE(v6->contains(*parse_ip("2001:db8:1::ffff")));
    EXPECT_EQ(to_string(parse_cidr("192.0.2.77/27")->network()), "192.0.2.64/27");
    EXPECT_EQ(to_string(broadcast_of(*parse_cidr("192.0.2.77/27"))), "192.0.2.95");
    // Go's net.ParseCIDR reads the length with dtoi: leading zeros are fine.
    EXPECT_EQ(parse_cidr("10.0.0.0/08")->prefix, 8);

    for (const char* bad : {"10.0.0.1", "10.0.0.1/33", "2001:db8::/129", "10.0.0.1/-1", "10.0.0.1/",
                            "/24", "10.0.0.1/2a", "zz/8"}) {
        EXPECT_FALSE(parse_cidr(bad)) << bad;
    }
}

// Our own config syntax (egress prefixes): canonical lengths, bare addresses on request.
TEST(NetIp, StrictCidrSyntax) {
    constexpr CidrSyntax kStrict{.allow_length_leading_zeros = false};
    const auto v4 = parse_cidr("10.42.0.0/16", kStrict);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family(), Family::V4);
    EXPECT_EQ(v4->prefix, 16);
    EXPECT_EQ(to_string(*v4), "10.42.0.0/16");
    const auto v6 = parse_cidr("2001:DB8::/32", kStrict);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family(), Family::V6);
    EXPECT_EQ(to_string(*v6), "2001:db8::/32");
    for (const char* bad : {"", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
                            "10.0.0.0/08", "10.0.0/8", "::/129", "x/8", "10.0.0.0/8 "}) {
        EXPECT_FALSE(parse_cidr(bad, kStrict)) << bad;
    }
    const auto bare = parse_cidr("10.0.0.1", {.allow_bare_address = true});
    ASSERT_TRUE(bare);
    EXPECT_EQ(to_string(*bare), "10.0.0.1/32");
    EXPECT_EQ(parse_cidr("2001:db8::1", {.allow_bare_address = true})->prefix, 128);
    EXPECT_FALSE(parse_cidr("10.0.0.1/", {.allow_bare_address = true}));
}

TEST(NetIp, NetworkAndContainment) {
    const auto p = *parse_cidr("172.20.5.7/12");
    EXPECT_TRUE(p.has_host_bits());
    EXPECT_FALSE(p.network().has_host_bits());
    EXPECT_EQ(to_string(p.network()), "172.16.0.0/12");
    const auto net = p.network();
    EXPECT_TRUE(net.contains(*parse_ip("172.31.255.255")));
    EXPECT_FALSE(net.contains(*parse_ip("172.32.0.0")));
    EXPECT_TRUE(net.contains(*parse_cidr("172.16.0.0/16")));
    EXPECT_FALSE(parse_cidr("172.16.0.0/16")->contains(net));
    EXPECT_FALSE(net.contains(*parse_ip("::1")));
    EXPECT_TRUE(default_prefix(Family::V6).contains(*parse_ip("2001:db8::1")));
    EXPECT_FALSE(default_prefix(Family::V4).contains(*parse_ip("2001:db8::1")));
    EXPECT_EQ(to_string(parse_cidr("2001:db8:ffff::1/33")->network()), "2001:db8:8000::/33");
    EXPECT_TRUE(default_prefix(Family::V4).is_default());
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
