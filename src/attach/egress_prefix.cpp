#include "splitnet/attach/egress_prefix.hpp"

#include <array>
#include <charconv>

#include <arpa/inet.h>

namespace splitnet::attach {

namespace {

std::optional<IpPrefix> parse_bare(std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    const std::string copy(text);
    IpPrefix out;
    if (::inet_pton(AF_INET, copy.c_str(), out.bytes.data()) == 1) {
        out.family = 4;
        out.length = 32;
        return out;
    }
    if (::inet_pton(AF_INET6, copy.c_str(), out.bytes.data()) == 1) {
        out.family = 6;
        out.length = 128;
        return out;
    }
    return std::nullopt;
}

}  // namespace

bool IpPrefix::contains(const IpPrefix& other) const {
    if (other.family != family || other.length < length) {
        return false;
    }
    IpPrefix masked = other;
    masked.length = length;
    return masked.network().bytes == network().bytes;
}

IpPrefix IpPrefix::network() const {
    IpPrefix out = *this;
    const int total = max_length() / 8;
    for (int i = 0; i < 16; ++i) {
        const int bit_start = i * 8;
        if (i >= total || bit_start >= length) {
            out.bytes[static_cast<std::size_t>(i)] = 0;
        } else if (bit_start + 8 > length) {
            const int keep = length - bit_start;  // 1..7
            const auto mask = static_cast<std::uint8_t>(0xFF << (8 - keep));
            out.bytes[static_cast<std::size_t>(i)] &= mask;
        }
    }
    return out;
}

std::string IpPrefix::address_text() const {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    ::inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf.data(), buf.size());
    return buf.data();
}

std::string IpPrefix::to_string() const {
    return address_text() + "/" + std::to_string(length);
}

std::optional<IpPrefix> parse_prefix(std::string_view text, bool allow_bare) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return allow_bare ? parse_bare(text) : std::nullopt;
    }
    auto out = parse_bare(text.substr(0, slash));
    if (!out) {
        return std::nullopt;
    }
    const auto len_text = text.substr(slash + 1);
    int length = -1;
    const auto* end = len_text.data() + len_text.size();
    const auto [ptr, ec] = std::from_chars(len_text.data(), end, length);
    if (len_text.empty() || ec != std::errc() || ptr != end || length < 0 ||
        length > out->max_length() || (len_text.size() > 1 && len_text[0] == '0')) {
        return std::nullopt;
    }
    out->length = length;
    return out;
}

std::optional<IpPrefix> parse_address(std::string_view text) {
    return parse_bare(text);
}

IpPrefix default_prefix(int family) {
    IpPrefix out;
    out.family = family;
    out.length = 0;
    return out;
}

}  // namespace splitnet::attach
