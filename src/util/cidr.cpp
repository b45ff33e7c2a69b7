#include "splitnet/util/cidr.hpp"

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace splitnet::util {

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    const std::string copy(text);
    IpAddress ip;
    if (copy.find(':') != std::string::npos) {
        ip.family = 6;
        if (::inet_pton(AF_INET6, copy.c_str(), ip.bytes.data()) != 1) {
            return std::nullopt;
        }
        return ip;
    }
    ip.family = 4;
    if (::inet_pton(AF_INET, copy.c_str(), ip.bytes.data()) != 1) {
        return std::nullopt;
    }
    return ip;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) {
        return std::nullopt;
    }
    const auto len_text = text.substr(slash + 1);
    int len = -1;
    const auto* end = len_text.data() + len_text.size();
    auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
    const int max = ip->family == 4 ? 32 : 128;
    if (len_text.empty() || ec != std::errc() || ptr != end || len < 0 || len > max) {
        return std::nullopt;
    }
    return Cidr{*ip, len};
}

std::string to_string(const IpAddress& ip) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    ::inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes.data(), buf.data(), buf.size());
    return buf.data();
}

std::string to_string(const Cidr& cidr) {
    return to_string(cidr.address) + "/" + std::to_string(cidr.prefix_len);
}

Cidr network_of(const Cidr& cidr) {
    Cidr out = cidr;
    const int total = cidr.address.family == 4 ? 4 : 16;
    for (int i = 0; i < total; ++i) {
        const int bits_before = i * 8;
        std::uint8_t mask = 0;
        if (cidr.prefix_len >= bits_before + 8) {
            mask = 0xff;
        } else if (cidr.prefix_len > bits_before) {
            mask = static_cast<std::uint8_t>(0xff << (8 - (cidr.prefix_len - bits_before)));
        }
        out.address.bytes[static_cast<std::size_t>(i)] &= mask;
    }
    return out;
}

bool contains(const Cidr& net, const IpAddress& ip) {
    if (net.address.family != ip.family) {
        return false;
    }
    const Cidr probe{ip, net.prefix_len};
    return network_of(probe).address == network_of(net).address;
}

}  // namespace splitnet::util
