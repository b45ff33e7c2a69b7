#include "splitnet/util/text.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace splitnet::util {

std::string_view trim(std::string_view text) {
    constexpr std::string_view kSpaces = " \t\n\v\f\r";
    const auto first = text.find_first_not_of(kSpaces);
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(kSpaces) - first + 1);
}

bool iequals(std::string_view a, std::string_view b) {
    const auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> pieces;
    for (;;) {
        const auto at = text.find(separator);
        pieces.push_back(text.substr(0, at));
        if (at == std::string_view::npos) {
            return pieces;
        }
        text.remove_prefix(at + 1);
    }
}

std::string_view without_cut_utf8_tail(std::string_view text) {
    // A UTF-8 character is a lead byte and up to three continuation bytes (10xxxxxx): find the
    // last lead byte and check that all the bytes it announces are there.
    constexpr std::size_t kMaxCharBytes = 4;
    for (std::size_t back = 1; back <= kMaxCharBytes && back <= text.size(); ++back) {
        const auto byte = static_cast<unsigned char>(text[text.size() - back]);
        if ((byte & 0xC0U) == 0x80U) {
            continue;
        }
        const std::size_t announced = byte >= 0xF0U ? 4 : byte >= 0xE0U ? 3 : byte >= 0xC0U ? 2 : 1;
        return announced > back ? text.substr(0, text.size() - back) : text;
    }
    return text;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    return without_cut_utf8_tail(text.substr(0, max_bytes));
}

std::string clip(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) {
        return std::string(text);
    }
    return fmt::format("{}... ({} bytes)", utf8_prefix(text, limit), text.size());
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    // No leading zero: "044" is not read as 44 (nor as octal 36) but refused.
    if (text.empty() || text.front() == '0' || ec != std::errc() || ptr != end || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

std::optional<HostPort> split_host_port(std::string_view text) {
    HostPort out;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = text.substr(1, close - 1);
        out.bracketed = true;
        port = text.substr(close + 2);
    } else {
        const auto colon = text.find(':');
        if (colon == std::string_view::npos ||
            text.find(':', colon + 1) != std::string_view::npos) {
            return std::nullopt;
        }
        out.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto number = parse_port(port);
    if (out.host.empty() || !number) {
        return std::nullopt;
    }
    out.port = *number;
    return out;
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace splitnet::util
