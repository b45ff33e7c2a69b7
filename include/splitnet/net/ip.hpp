#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace splitnet::net {

/// The IP family of an address or prefix. Convert at the edge: `address_family()` for the
/// kernel (AF_INET / AF_INET6), `ip_version()` for JSON and messages (4 / 6).
enum class Family : std::uint8_t { V4, V6 };

/// AF_INET or AF_INET6, for sockets and netlink.
int address_family(Family family);

/// The family of a kernel AF_INET / AF_INET6 value; nullopt for any other.
std::optional<Family> family_from_af(int af);

/// 4 or 6, as CNI results and Multus print it.
int ip_version(Family family);

/// "IPv4" or "IPv6", for messages.
std::string_view family_name(Family family);

/// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes, the rest zero).
/// Ordered by (family, bytes).
struct IpAddr {
    Family family = Family::V4;
    std::array<std::uint8_t, 16> bytes{};

    /// 4 for IPv4, 16 for IPv6.
    [[nodiscard]] std::size_t size() const;

    [[nodiscard]] bool is_v4() const { return family == Family::V4; }

    /// 32 or 128: the longest prefix of the family.
    [[nodiscard]] int max_prefix() const { return is_v4() ? 32 : 128; }

    auto operator<=>(const IpAddr&) const = default;
};

/// An address with a prefix length; host bits are kept as given ("10.0.0.5/24" stays .5). A
/// full-length prefix stands for a single address. Ordered by (addr, prefix).
struct IpNet {
    IpAddr addr;
    int prefix = 0;

    [[nodiscard]] Family family() const { return addr.family; }

    [[nodiscard]] bool is_v4() const { return addr.is_v4(); }

    /// A zero-length prefix: the default route's destination.
    [[nodiscard]] bool is_default() const { return prefix == 0; }

    /// The prefix with the host bits cleared.
    [[nodiscard]] IpNet network() const;

    [[nodiscard]] bool has_host_bits() const { return network().addr != addr; }

    /// True when `ip` lies in this prefix (same family, same leading `prefix` bits).
    [[nodiscard]] bool contains(const IpAddr& ip) const;
    /// True when all of `other` lies in this prefix (same family, no shorter, same leading bits).
    [[nodiscard]] bool contains(const IpNet& other) const;
    auto operator<=>(const IpNet&) const = default;
};

/// Parses a textual address like Go's net.ParseIP (IPv4 dotted quad without leading zeros, or
/// IPv6 without a zone). An IPv4-mapped IPv6 address is read as IPv4, as Go's To4 does. nullopt
/// on anything else.
std::optional<IpAddr> parse_ip(std::string_view text);

/// How strictly `parse_cidr` reads its input.
struct CidrSyntax {
    /// A bare address is read as a full-length prefix.
    bool allow_bare_address = false;
    /// The length may have leading zeros ("10.0.0.0/08"), as Go's net.ParseCIDR accepts; our own
    /// config syntax (egress prefixes) refuses them.
    bool allow_length_leading_zeros = true;
};

/// Parses "addr/length" like Go's net.ParseCIDR (the length in decimal, at most the family's
/// size). Host bits are kept, and an IPv4-mapped address stays IPv6 (its length counts 128 bits).
/// nullopt on garbage.
std::optional<IpNet> parse_cidr(std::string_view text, CidrSyntax syntax = {});

/// Canonical text as Go's net.IP.String() prints it: dotted quad for IPv4 and for an IPv4-mapped
/// IPv6 address, RFC 5952 for other IPv6 (lower-case hex, the first longest run of two or more
/// zero groups as "::", never glibc's embedded-IPv4 form).
std::string to_string(const IpAddr& addr);

/// "addr/prefix" with the host bits kept.
std::string to_string(const IpNet& net);

/// IPv4 broadcast address of `net` (all host bits set), as vishvananda/netlink computes it.
IpAddr broadcast_of(const IpNet& net);

/// The zero address of a family (0.0.0.0 or ::).
IpAddr zero_address(Family family);

/// The default prefix of a family: 0.0.0.0/0 or ::/0.
IpNet default_prefix(Family family);

/// A 48-bit Ethernet address.
using MacAddr = std::array<std::uint8_t, 6>;

/// Parses "aa:bb:cc:dd:ee:ff" (also '-' separators, like Go's net.ParseMAC for 48-bit forms).
std::optional<MacAddr> parse_mac(std::string_view text);

/// Lower-case colon form, as Go's HardwareAddr.String().
std::string to_string(const MacAddr& mac);

/// Neither multicast (I/G bit) nor all-zero: usable as an interface address.
bool is_unicast_mac(const MacAddr& mac);

}  // namespace splitnet::net
