#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace splitnet::net {

/// An IPv4 or IPv6 address in network byte order (IPv4 uses the first 4 bytes).
struct IpAddr {
    int family = 0;  ///< AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};

    /// 4 for IPv4, 16 for IPv6.
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] bool is_v4() const;
    bool operator==(const IpAddr&) const = default;
};

/// An address with a prefix length; host bits are kept as given ("10.0.0.5/24" stays .5).
struct IpNet {
    IpAddr addr;
    int prefix = 0;
    bool operator==(const IpNet&) const = default;
};

/// Parses a textual address like Go's net.ParseIP (IPv4 dotted quad without leading zeros, or
/// IPv6). An IPv4-mapped IPv6 address is read as IPv4, as Go does. nullopt on garbage.
std::optional<IpAddr> parse_ip(std::string_view text);

/// Parses "addr/prefix" like Go's net.ParseCIDR. nullopt on garbage.
std::optional<IpNet> parse_cidr(std::string_view text);

/// Canonical text as Go prints it (RFC 5952 for IPv6, dotted quad for IPv4).
std::string to_string(const IpAddr& addr);

/// "addr/prefix" with the host bits kept.
std::string to_string(const IpNet& net);

/// The network address (host bits cleared).
IpNet network_of(const IpNet& net);

/// True when `addr` lies in `net` (same family and same leading `prefix` bits).
bool contains(const IpNet& net, const IpAddr& addr);

/// IPv4 broadcast address of `net` (all host bits set), as vishvananda/netlink computes it.
IpAddr broadcast_of(const IpNet& net);

/// The zero address of a family (0.0.0.0 or ::).
IpAddr zero_address(int family);

/// A 48-bit Ethernet address.
using MacAddr = std::array<std::uint8_t, 6>;

/// Parses "aa:bb:cc:dd:ee:ff" (also '-' separators, like Go's net.ParseMAC for 48-bit forms).
std::optional<MacAddr> parse_mac(std::string_view text);

/// Lower-case colon form, as Go's HardwareAddr.String().
std::string to_string(const MacAddr& mac);

/// Neither multicast (I/G bit) nor all-zero: usable as an interface address.
bool is_unicast_mac(const MacAddr& mac);

}  // namespace splitnet::net
