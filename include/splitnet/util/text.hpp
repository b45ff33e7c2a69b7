#pragma once

// Small text helpers shared by the config, IPAM, annotation and exec parsers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace splitnet::util {

/// `text` without leading and trailing ASCII white space (" \t\n\v\f\r", std::isspace in the
/// C locale; Go's strings.TrimSpace agrees on ASCII).
std::string_view trim(std::string_view text);

/// ASCII case-insensitive equality: config keys are matched the way Go's encoding/json and
/// Multus match them.
bool iequals(std::string_view a, std::string_view b);

/// `text` with ASCII A-Z lowered; every other byte unchanged (DNS names compare this way).
std::string ascii_lower(std::string_view text);

/// The pieces between `separator`s, untrimmed, empty ones included: "a,,b" gives "a", "", "b"
/// and "" gives one empty piece (callers decide what an empty piece means).
std::vector<std::string_view> split(std::string_view text, char separator);

/// `text` without a UTF-8 character cut in two at its very end, which is what a byte-limited read
/// leaves behind. Anything else (also invalid UTF-8 elsewhere) is kept: dump_json replaces it.
std::string_view without_cut_utf8_tail(std::string_view text);

/// The longest prefix of `text` that has at most `max_bytes` bytes and does not end inside a
/// UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

/// `text` itself when it has at most `limit` bytes, else its utf8_prefix of `limit` bytes followed
/// by "... (<size> bytes)": for quoting plugin output in error messages.
std::string clip(std::string_view text, std::size_t limit);

/// A TCP/UDP port written in decimal: digits only (no sign, space, "0x" or leading zero),
/// 1-65535, else
/// nullopt. A silent truncation to 16 bits once turned 102315 into a connection to port 36779.
std::optional<std::uint16_t> parse_port(std::string_view text);

/// "HOST:PORT", or "[HOST]:PORT" for an IPv6 address, split; nullopt when the form is wrong or
/// the port is not parse_port's. An unbracketed HOST has no colon. The caller checks HOST.
struct HostPort {
    std::string_view host;
    std::uint16_t port = 0;
    bool bracketed = false;  ///< written as [HOST]
};

std::optional<HostPort> split_host_port(std::string_view text);

}  // namespace splitnet::util
