#include "splitnet/net/ip.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <fmt/format.h>

namespace splitnet::net {

namespace {

// ::ffff:a.b.c.d
bool is_v4_mapped(const std::array<std::uint8_t, 16>& b) {
    return std::all_of(b.begin(), b.begin() + 10, [](std::uint8_t v) { return v == 0; }) &&
           b[10] == 0xff && b[11] == 0xff;
}

// inet_pton of either family, the mapped form kept as IPv6 (prefixes count its 128 bits).
// inet_pton rejects leading zeros in IPv4 octets, like Go >= 1.17, and zones.
std::optional<IpAddr> parse_address_text(std::string_view text) {
    // A NUL would end the C string early and let "192.0.2.1\0junk" through.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
        text.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    const std::string copy(text);
    IpAddr out;
    if (::inet_pton(AF_INET, copy.c_str(), out.bytes.data()) == 1) {
        out.family = Family::V4;
        return out;
    }
    if (::inet_pton(AF_INET6, copy.c_str(), out.bytes.data()) == 1) {
        out.family = Family::V6;
        return out;
    }
    return std::nullopt;
}

}  // namespace

int address_family(Family family) {
    return family == Family::V4 ? AF_INET : AF_INET6;
}

std::optional<Family> family_from_af(int af) {
    if (af == AF_INET) {
        return Family::V4;
    }
    if (af == AF_INET6) {
        return Family::V6;
    }
    return std::nullopt;
}

int ip_version(Family family) {
    return family == Family::V4 ? 4 : 6;
}

std::string_view family_name(Family family) {
    return family == Family::V4 ? "IPv4" : "IPv6";
}

std::size_t IpAddr::size() const {
    return is_v4() ? 4 : 16;
}

IpNet IpNet::network() const {
    IpNet out = *this;
    for (std::size_t i = 0; i < out.addr.bytes.size(); ++i) {
        const int bits = i < addr.size() ? std::clamp(prefix - static_cast<int>(i * 8), 0, 8) : 0;
        const auto mask = static_cast<std::uint8_t>(bits == 0 ? 0 : (0xffU << (8 - bits)) & 0xffU);
        out.addr.bytes[i] = static_cast<std::uint8_t>(out.addr.bytes[i] & mask);
    }
    return out;
}

bool IpNet::contains(const IpAddr& ip) const {
    return contains(IpNet{ip, ip.max_prefix()});
}

bool IpNet::contains(const IpNet& other) const {
    if (other.addr.family != addr.family || other.prefix < prefix) {
        return false;
    }
    return IpNet{other.addr, prefix}.network().addr == network().addr;
}

std::optional<IpAddr> parse_ip(std::string_view text) {
    auto out = parse_address_text(text);
    if (out && !out->is_v4() && is_v4_mapped(out->bytes)) {
        // Go's ParseIP: the mapped form is the IPv4 address (To4 is non-nil).
        IpAddr v4;
        std::copy(out->bytes.begin() + 12, out->bytes.end(), v4.bytes.begin());
        return v4;
    }
    return out;
}

std::optional<IpNet> parse_cidr(std::string_view text, CidrSyntax syntax) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        if (!syntax.allow_bare_address) {
            return std::nullopt;
        }
        const auto addr = parse_address_text(text);
        if (!addr) {
            return std::nullopt;
        }
        return IpNet{*addr, addr->max_prefix()};
    }
    const auto length_text = text.substr(slash + 1);
    // Go's dtoi: decimal digits only, no sign, no leading '+'.
    if (length_text.empty() || length_text.size() > 3 ||
        !std::all_of(length_text.begin(), length_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    if (!syntax.allow_length_leading_zeros && length_text.size() > 1 && length_text[0] == '0') {
        return std::nullopt;
    }
    const auto addr = parse_address_text(text.substr(0, slash));
    if (!addr) {
        return std::nullopt;
    }
    int length = 0;
    std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (length > addr->max_prefix()) {
        return std::nullopt;
    }
    return IpNet{*addr, length};
}

std::string to_string(const IpAddr& addr) {
    if (addr.is_v4()) {
        return fmt::format("{}.{}.{}.{}", addr.bytes[0], addr.bytes[1], addr.bytes[2],
                           addr.bytes[3]);
    }
    if (is_v4_mapped(addr.bytes)) {
        return fmt::format("{}.{}.{}.{}", addr.bytes[12], addr.bytes[13], addr.bytes[14],
                           addr.bytes[15]);
    }
    // Go's IP.String: hex groups without leading zeros, the first longest run (>= 2) of zero
    // groups becomes "::". Never the embedded-IPv4 form glibc uses for ::a.b.c.d.
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i) {
        groups[i] = (static_cast<unsigned>(addr.bytes[2 * i]) << 8U) | addr.bytes[2 * i + 1];
    }
    int best_start = -1;
    int best_len = 0;
    for (int i = 0; i < 8;) {
        if (groups[static_cast<std::size_t>(i)] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[static_cast<std::size_t>(j)] == 0) {
            ++j;
        }
        if (j - i > best_len && j - i >= 2) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') {
            out += ':';
        }
        out += fmt::format("{:x}", groups[static_cast<std::size_t>(i)]);
    }
    return out;
}

std::string to_string(const IpNet& net) {
    return to_string(net.addr) + "/" + std::to_string(net.prefix);
}

IpAddr broadcast_of(const IpNet& net) {
    IpAddr out = net.addr;
    const auto size = net.addr.size();
    for (std::size_t i = 0; i < size; ++i) {
        const int bits = std::clamp(net.prefix - static_cast<int>(i * 8), 0, 8);
        const auto host = static_cast<std::uint8_t>(bits == 8 ? 0 : (0xffU >> bits));
        out.bytes[i] = static_cast<std::uint8_t>(out.bytes[i] | host);
    }
    return out;
}

IpAddr zero_address(Family family) {
    IpAddr out;
    out.family = family;
    return out;
}

IpNet default_prefix(Family family) {
    return IpNet{zero_address(family), 0};
}

std::optional<MacAddr> parse_mac(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    MacAddr mac{};
    if (text.size() == 17 && (text[2] == ':' || text[2] == '-')) {
        const char sep = text[2];
        for (std::size_t i = 0; i < 6; ++i) {
            const auto pos = i * 3;
            if (i > 0 && text[pos - 1] != sep) {
                return std::nullopt;
            }
            const int hi = hex(text[pos]);
            const int lo = hex(text[pos + 1]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            mac[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        return mac;
    }
    if (text.size() == 14 && text[4] == '.' && text[9] == '.') {
        // Go also accepts the "0000.5e00.5301" form.
        std::size_t out = 0;
        for (std::size_t pos = 0; pos < 14; pos += 5) {
            for (std::size_t k = 0; k < 4; k += 2) {
                const int hi = hex(text[pos + k]);
                const int lo = hex(text[pos + k + 1]);
                if (hi < 0 || lo < 0) {
                    return std::nullopt;
                }
                mac[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
            }
        }
        return mac;
    }
    return std::nullopt;
}

std::string to_string(const MacAddr& mac) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                       mac[4], mac[5]);
}

bool is_unicast_mac(const MacAddr& mac) {
    const bool zero = std::all_of(mac.begin(), mac.end(), [](std::uint8_t b) { return b == 0; });
    return !zero && (mac[0] & 0x01U) == 0;
}

}  // namespace splitnet::net
