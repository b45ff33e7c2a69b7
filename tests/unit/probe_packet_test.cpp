#include "splitnet/net/probe_packet.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace splitnet::net {
namespace {

const MacAddr kOwn = {0x02, 0, 0, 0, 0, 0x01};
const MacAddr kOther = {0x02, 0, 0, 0, 0, 0x02};

IpAddr ip(const char* text) {
    return *parse_ip(text);
}

/// An ARP packet as another host would send it.
std::vector<std::uint8_t> arp(std::uint8_t op, const MacAddr& sha, const char* spa,
                              const char* tpa) {
    auto p = encode_arp_request(sha, ip(spa), ip(tpa));
    p[7] = op;
    return p;
}

TEST(ProbePacket, ArpProbeLayout) {
    const auto p = encode_arp_request(kOwn, zero_address(Family::V4), ip("192.168.99.99"));
    const std::vector<std::uint8_t> expected = {
        0, 1, 8, 0, 6, 4, 0,   1,            // Ethernet/IPv4, request
        2, 0, 0, 0, 0, 1, 0,   0,   0,  0,   // sender MAC, sender IP 0.0.0.0
        0, 0, 0, 0, 0, 0, 192, 168, 99, 99,  // target MAC unknown, target IP
    };
    EXPECT_EQ(p, expected);
}

TEST(ProbePacket, ConflictDetection) {
    const auto addr = ip("192.168.99.99");
    // The holder's reply to our probe (Linux replies with target IP 0.0.0.0).
    EXPECT_EQ(arp_conflict_in(arp(2, kOther, "192.168.99.99", "0.0.0.0"), addr, kOwn), kOther);
    // Its own announcement / a request using the address.
    EXPECT_EQ(arp_conflict_in(arp(1, kOther, "192.168.99.99", "192.168.99.1"), addr, kOwn), kOther);
    // A competing probe for the same address.
    EXPECT_EQ(arp_conflict_in(arp(1, kOther, "0.0.0.0", "192.168.99.99"), addr, kOwn), kOther);
    // Not conflicts: our own probe echoed, other addresses, someone merely asking for it.
    EXPECT_FALSE(arp_conflict_in(arp(1, kOwn, "0.0.0.0", "192.168.99.99"), addr, kOwn));
    EXPECT_FALSE(arp_conflict_in(arp(2, kOther, "192.168.99.98", "0.0.0.0"), addr, kOwn));
    EXPECT_FALSE(arp_conflict_in(arp(1, kOther, "192.168.99.1", "192.168.99.99"), addr, kOwn));
    EXPECT_FALSE(arp_conflict_in(std::vector<std::uint8_t>(10, 0), addr, kOwn));
}

TEST(ProbePacket, ReplyMatching) {
    const auto gw = ip("192.168.99.1");
    EXPECT_EQ(arp_reply_from(arp(2, kOther, "192.168.99.1", "192.168.99.99"), gw), kOther);
    EXPECT_FALSE(arp_reply_from(arp(1, kOther, "192.168.99.1", "192.168.99.99"), gw));
    EXPECT_FALSE(arp_reply_from(arp(2, kOther, "192.168.99.2", "192.168.99.99"), gw));
}

TEST(ProbePacket, NeighbourSolicitationAndAdvert) {
    const auto target = ip("2001:db8:99::1");
    EXPECT_EQ(to_string(solicited_node_group(target)), "ff02::1:ff00:1");
    EXPECT_EQ(to_string(solicited_node_group(ip("fe80::aabb:ccdd:eeff"))), "ff02::1:ffdd:eeff");
    const auto ns = encode_neighbour_solicitation(kOwn, target);
    ASSERT_EQ(ns.size(), 32U);
    EXPECT_EQ(ns[0], 135);
    EXPECT_EQ(std::vector<std::uint8_t>(ns.begin() + 24, ns.end()),
              (std::vector<std::uint8_t>{1, 1, 2, 0, 0, 0, 0, 1}));

    std::vector<std::uint8_t> na = {136, 0, 0, 0, 0x60, 0, 0, 0};
    na.insert(na.end(), target.bytes.begin(), target.bytes.end());
    EXPECT_EQ(neighbour_advert_for(na, target), MacAddr{});  // no option: answered, MAC unknown
    na.insert(na.end(), {2, 1});
    na.insert(na.end(), kOther.begin(), kOther.end());
    EXPECT_EQ(neighbour_advert_for(na, target), kOther);
    EXPECT_FALSE(neighbour_advert_for(na, ip("2001:db8:99::2")));
    na[0] = 135;
    EXPECT_FALSE(neighbour_advert_for(na, target));
}

}  // namespace
}  // namespace splitnet::net
