#include "splitnet/net/probe_packet.hpp"

#include <algorithm>
#include <cstring>

namespace splitnet::net {

namespace {

constexpr std::size_t kArpLen = 28;  // hrd, pro, hln, pln, op, sha, spa, tha, tpa
constexpr std::uint16_t kArpRequest = 1;
constexpr std::uint16_t kArpReply = 2;
constexpr std::uint8_t kNeighbourSolicit = 135;
constexpr std::uint8_t kNeighbourAdvert = 136;
constexpr std::uint8_t kOptSourceLinkAddr = 1;
constexpr std::uint8_t kOptTargetLinkAddr = 2;

struct ArpView {
    std::uint16_t op = 0;
    MacAddr sha{};
    std::array<std::uint8_t, 4> spa{};
    std::array<std::uint8_t, 4> tpa{};
};

std::optional<ArpView> parse_arp(std::span<const std::uint8_t> p) {
    // Ethernet (1), IPv4 (0x0800), 6-byte MACs, 4-byte addresses.
    if (p.size() < kArpLen || p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0x00 || p[4] != 6 ||
        p[5] != 4) {
        return std::nullopt;
    }
    ArpView v;
    v.op = static_cast<std::uint16_t>((p[6] << 8) | p[7]);
    std::copy_n(p.begin() + 8, 6, v.sha.begin());
    std::copy_n(p.begin() + 14, 4, v.spa.begin());
    std::copy_n(p.begin() + 24, 4, v.tpa.begin());
    return v;
}

bool v4_equals(const std::array<std::uint8_t, 4>& raw, const IpAddr& addr) {
    return addr.is_v4() && std::equal(raw.begin(), raw.end(), addr.bytes.begin());
}

bool is_zero(const std::array<std::uint8_t, 4>& raw) {
    return std::all_of(raw.begin(), raw.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

std::vector<std::uint8_t> encode_arp_request(const MacAddr& sender_mac, const IpAddr& sender,
                                             const IpAddr& target) {
    std::vector<std::uint8_t> out = {0, 1, 0x08, 0x00, 6, 4, 0, kArpRequest};
    out.insert(out.end(), sender_mac.begin(), sender_mac.end());
    out.insert(out.end(), sender.bytes.begin(), sender.bytes.begin() + 4);
    out.insert(out.end(), 6, 0);  // target MAC unknown
    out.insert(out.end(), target.bytes.begin(), target.bytes.begin() + 4);
    return out;
}

std::optional<MacAddr> arp_conflict_in(std::span<const std::uint8_t> packet, const IpAddr& address,
                                       const MacAddr& own_mac) {
    const auto v = parse_arp(packet);
    if (!v || v->sha == own_mac || (v->op != kArpRequest && v->op != kArpReply)) {
        return std::nullopt;
    }
    // RFC 5227 2.1.1: a packet whose sender IP is the probed address, or another host's probe
    // (sender 0.0.0.0) for the same target, means the address is not ours to take.
    if (v4_equals(v->spa, address) ||
        (v->op == kArpRequest && is_zero(v->spa) && v4_equals(v->tpa, address))) {
        return v->sha;
    }
    return std::nullopt;
}

std::optional<MacAddr> arp_reply_from(std::span<const std::uint8_t> packet, const IpAddr& target) {
    const auto v = parse_arp(packet);
    if (!v || v->op != kArpReply || !v4_equals(v->spa, target)) {
        return std::nullopt;
    }
    return v->sha;
}

std::vector<std::uint8_t> encode_neighbour_solicitation(const MacAddr& own_mac,
                                                        const IpAddr& target) {
    std::vector<std::uint8_t> out = {kNeighbourSolicit, 0, 0, 0, 0, 0, 0, 0};  // type..reserved
    out.insert(out.end(), target.bytes.begin(), target.bytes.end());
    out.push_back(kOptSourceLinkAddr);
    out.push_back(1);  // length in units of 8 bytes
    out.insert(out.end(), own_mac.begin(), own_mac.end());
    return out;
}

IpAddr solicited_node_group(const IpAddr& target) {
    IpAddr out;
    out.family = target.family;
    const std::array<std::uint8_t, 13> prefix = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    std::copy(prefix.begin(), prefix.end(), out.bytes.begin());
    std::copy_n(target.bytes.begin() + 13, 3, out.bytes.begin() + 13);
    return out;
}

std::optional<MacAddr> neighbour_advert_for(std::span<const std::uint8_t> packet,
                                            const IpAddr& target) {
    constexpr std::size_t kHeader = 24;  // type, code, checksum, flags, target
    if (packet.size() < kHeader || packet[0] != kNeighbourAdvert || packet[1] != 0 ||
        !std::equal(target.bytes.begin(), target.bytes.end(), packet.begin() + 8)) {
        return std::nullopt;
    }
    MacAddr mac{};
    std::size_t off = kHeader;
    while (off + 2 <= packet.size()) {
        const std::size_t len = static_cast<std::size_t>(packet[off + 1]) * 8;
        if (len == 0 || off + len > packet.size()) {
            break;  // malformed option: the advertisement still answers the solicitation
        }
        if (packet[off] == kOptTargetLinkAddr && len >= 8) {
            std::copy_n(packet.begin() + static_cast<std::ptrdiff_t>(off) + 2, 6, mac.begin());
            break;
        }
        off += len;
    }
    return mac;
}

}  // namespace splitnet::net
