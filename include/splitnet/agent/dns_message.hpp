#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace splitnet::agent {

/// The largest DNS message the DNS split accepts from a pod or relays back (EDNS0's usual
/// ceiling; a bigger UDP query is dropped, a bigger TCP one closes the connection).
inline constexpr std::size_t kMaxDnsMessage = 4096;
/// The largest reply relayed over TCP: what the two-byte length can say (a reply too big for
/// UDP is exactly what a client retries over TCP for).
inline constexpr std::size_t kMaxDnsTcpMessage = 65535;

/// The one question of a standard query, as the DNS split needs it to choose a path.
struct DnsQuestion {
    std::uint16_t id = 0;
    std::vector<std::string> labels;  ///< ASCII lower-cased, raw bytes otherwise; root = empty
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
};

/// Parses the header and the question section of a query (the rest is relayed unread). nullopt
/// for anything but a well-formed standard query: shorter than the header or longer than
/// kMaxDnsMessage, QR set, an opcode other than QUERY, QDCOUNT other than 1, answers or
/// authority records present, a compression pointer or a reserved label type in the name, a
/// label over 63 bytes, a name over 255 bytes, or a truncated question. Pure and bounded: one
/// pass over at most kMaxDnsMessage bytes.
std::optional<DnsQuestion> parse_dns_query(std::span<const std::uint8_t> message);

/// True when `reply` can be relayed as the answer to query `id`: a whole header, QR set, the
/// same id, at most `max_size` bytes. Pure.
bool is_reply_to(std::span<const std::uint8_t> reply, std::uint16_t id,
                 std::size_t max_size = kMaxDnsMessage);

/// True when the question's name is `domain` or lies under it, compared label by label (a
/// label holding a dot never matches across labels). `domain` is lower case without a trailing
/// dot; "" is the root and matches nothing. Pure.
bool in_domain(const DnsQuestion& question, std::string_view domain);

/// The name for logs: labels joined by dots, non-printable bytes as \DDD, clipped. Pure.
std::string printable_name(const DnsQuestion& question);

}  // namespace splitnet::agent
