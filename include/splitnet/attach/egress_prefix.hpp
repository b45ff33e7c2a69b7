#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace splitnet::attach {

/// An IPv4 or IPv6 prefix (or, with the full length, a single address). Pure value type for the
/// egress route computation; comparisons are on (family, bytes, length).
struct IpPrefix {
    int family = 4;                        ///< 4 or 6
    std::array<std::uint8_t, 16> bytes{};  ///< network byte order; v4 uses the first 4
    int length = 0;                        ///< prefix length

    [[nodiscard]] int max_length() const { return family == 4 ? 32 : 128; }

    [[nodiscard]] bool is_default() const { return length == 0; }

    /// True when `other` (an address or prefix of the same family) lies inside this prefix.
    [[nodiscard]] bool contains(const IpPrefix& other) const;
    /// The prefix with the host bits cleared.
    [[nodiscard]] IpPrefix network() const;

    [[nodiscard]] bool has_host_bits() const { return network().bytes != bytes; }

    /// "10.0.0.0/8", "2001:db8::/32"; `address_text()` prints the address part only.
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] std::string address_text() const;

    friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

/// Parses "a.b.c.d/n", "x::y/n" and, with `allow_bare`, a bare address (full length).
/// Returns nullopt for anything else (the caller names the key in its error).
std::optional<IpPrefix> parse_prefix(std::string_view text, bool allow_bare = false);

/// Parses a bare address into a full-length prefix.
std::optional<IpPrefix> parse_address(std::string_view text);

/// The default prefix of a family: 0.0.0.0/0 or ::/0.
IpPrefix default_prefix(int family);

}  // namespace splitnet::attach
