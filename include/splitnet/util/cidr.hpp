#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace splitnet::util {

/// An IPv4 or IPv6 address (16 bytes, v4 in the first 4).
struct IpAddress {
    int family = 4;  ///< 4 or 6
    std::array<std::uint8_t, 16> bytes{};
    auto operator<=>(const IpAddress&) const = default;
};

/// A prefix: address plus length. The host bits are kept as given (static IPAM keeps them).
struct Cidr {
    IpAddress address;
    int prefix_len = 0;
    auto operator<=>(const Cidr&) const = default;
};

std::optional<IpAddress> parse_ip(std::string_view text);
/// "a.b.c.d/n" or "x::y/n"; nullopt when malformed.
std::optional<Cidr> parse_cidr(std::string_view text);

std::string to_string(const IpAddress& ip);
std::string to_string(const Cidr& cidr);

/// The network with host bits cleared.
Cidr network_of(const Cidr& cidr);

bool contains(const Cidr& net, const IpAddress& ip);

}  // namespace splitnet::util
