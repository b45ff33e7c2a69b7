#include "splitnet/agent/dns_message.hpp"

#include <fmt/format.h>

#include "splitnet/util/text.hpp"

namespace splitnet::agent {
namespace {

constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 255;  // wire length, length octets included
constexpr std::uint8_t kQrBit = 0x80;
constexpr std::uint8_t kOpcodeMask = 0x78;

std::uint16_t read16(std::span<const std::uint8_t> bytes, std::size_t at) {
    return static_cast<std::uint16_t>((bytes[at] << 8U) | bytes[at + 1]);
}

}  // namespace

std::optional<DnsQuestion> parse_dns_query(std::span<const std::uint8_t> message) {
    if (message.size() < kHeaderBytes || message.size() > kMaxDnsMessage) {
        return std::nullopt;
    }
    const std::uint8_t flags = message[2];
    if ((flags & kQrBit) != 0 || (flags & kOpcodeMask) != 0) {
        return std::nullopt;
    }
    // One question; no answers or authority in a query. Additional records (EDNS0's OPT, a TSIG)
    // are relayed as they are.
    if (read16(message, 4) != 1 || read16(message, 6) != 0 || read16(message, 8) != 0) {
        return std::nullopt;
    }
    DnsQuestion out;
    out.id = read16(message, 0);
    std::size_t at = kHeaderBytes;
    std::size_t name_bytes = 0;
    while (true) {
        if (at >= message.size()) {
            return std::nullopt;
        }
        const std::uint8_t length = message[at++];
        ++name_bytes;  // the root label's zero octet counts too (RFC 1035 3.1: 255 in all)
        if (name_bytes > kMaxName) {
            return std::nullopt;
        }
        if (length == 0) {
            break;
        }
        // 0xC0 is a compression pointer, 0x40/0x80 reserved label types: none belongs in the
        // first name of a message.
        if (length > kMaxLabel) {
            return std::nullopt;
        }
        name_bytes += length;
        if (name_bytes > kMaxName || message.size() - at < length) {
            return std::nullopt;
        }
        const auto* begin = reinterpret_cast<const char*>(message.data() + at);
        out.labels.push_back(util::ascii_lower(std::string_view(begin, length)));
        at += length;
    }
    if (message.size() - at < 4) {
        return std::nullopt;
    }
    out.qtype = read16(message, at);
    out.qclass = read16(message, at + 2);
    return out;
}

bool is_reply_to(std::span<const std::uint8_t> reply, std::uint16_t id, std::size_t max_size) {
    return reply.size() >= kHeaderBytes && reply.size() <= max_size && (reply[2] & kQrBit) != 0 &&
           read16(reply, 0) == id;
}

bool in_domain(const DnsQuestion& question, std::string_view domain) {
    if (domain.empty()) {
        return false;
    }
    const auto wanted = util::split(domain, '.');
    if (wanted.size() > question.labels.size()) {
        return false;
    }
    const auto offset = question.labels.size() - wanted.size();
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (question.labels[offset + i] != wanted[i]) {
            return false;
        }
    }
    return true;
}

std::string printable_name(const DnsQuestion& question) {
    constexpr std::size_t kLogLimit = 300;
    std::string out;
    for (const auto& label : question.labels) {
        for (const char c : label) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x21 || byte > 0x7e || c == '.' || c == '\\') {
                out += fmt::format("\\{:03}", byte);
            } else {
                out += c;
            }
        }
        out += '.';
        if (out.size() > kLogLimit) {
            return out.substr(0, kLogLimit) + "...";
        }
    }
    return out.empty() ? "." : out;
}

}  // namespace splitnet::agent
