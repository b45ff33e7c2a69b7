#include "splitnet/util/go_json.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "splitnet/util/text.hpp"

namespace splitnet::util {
namespace {

/// Decodes one UTF-8 sequence at text[i]; returns the code point and its length, or -1 with
/// length 1 for an invalid byte (Go then writes U+FFFD).
std::pair<long, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t len = 0;
    long cp = 0;
    long min = 0;
    if (c < 0x80) {
        return {c, 1};
    }
    if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return {-1, 1};
    }
    if (i + len > text.size()) {
        return {-1, 1};
    }
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return {-1, 1};
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return {-1, 1};
    }
    return {cp, len};
}

void append_float(std::string& out, double value) {
    // encoding/json floatEncoder: 'f' unless the magnitude is tiny or huge, shortest digits.
    const double abs = std::fabs(value);
    const bool exponent = abs != 0 && (abs < 1e-6 || abs >= 1e21);
    std::array<char, 64> buf{};
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value,
                             exponent ? std::chars_format::scientific : std::chars_format::fixed);
    std::string text(buf.data(), res.ptr);
    if (exponent) {
        // Go writes e-7, not e-07.
        const auto n = text.size();
        if (n >= 4 && text[n - 4] == 'e' && text[n - 3] == '-' && text[n - 2] == '0') {
            text.erase(n - 2, 1);
        }
    }
    out += text;
}

void marshal_into(std::string& out, const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, item] : value.items()) {  // std::map order == Go's sorted keys
                if (!first) {
                    out += ',';
                }
                first = false;
                out += go_quote(key);
                out += ':';
                marshal_into(out, item);
            }
            out += '}';
            break;
        }
        case nlohmann::json::value_t::array: {
            out += '[';
            for (std::size_t i = 0; i < value.size(); ++i) {
                if (i > 0) {
                    out += ',';
                }
                marshal_into(out, value[i]);
            }
            out += ']';
            break;
        }
        case nlohmann::json::value_t::string:
            out += go_quote(value.get_ref<const std::string&>());
            break;
        case nlohmann::json::value_t::boolean:
            out += value.get<bool>() ? "true" : "false";
            break;
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
        case nlohmann::json::value_t::number_float:
            // Go decodes every number into float64.
            append_float(out, value.get<double>());
            break;
        default:
            out += "null";
            break;
    }
}

}  // namespace

std::string go_quote(std::string_view text) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                default:
                    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                        out += "\\u00";
                        out += kHex[c >> 4];
                        out += kHex[c & 0xF];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        auto [cp, len] = decode_utf8(text, i);
        if (cp < 0) {
            out += "\\ufffd";
        } else if (cp == 0x2028 || cp == 0x2029) {
            out += cp == 0x2028 ? "\\u2028" : "\\u2029";
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    out += '"';
    return out;
}

std::string go_marshal(const nlohmann::json& value) {
    std::string out;
    marshal_into(out, value);
    return out;
}

bool is_go_mac(std::string_view text) {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    if (text.size() < 14) {
        return false;
    }
    if (text[2] == ':' || text[2] == '-') {
        if ((text.size() + 1) % 3 != 0) {
            return false;
        }
        const auto n = (text.size() + 1) / 3;
        if (n != 6 && n != 8 && n != 20) {
            return false;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = i * 3;
            if (!hex(text[x]) || !hex(text[x + 1]) || (i + 1 < n && text[x + 2] != text[2])) {
                return false;
            }
        }
        return true;
    }
    if (text[4] == '.') {
        if ((text.size() + 1) % 5 != 0) {
            return false;
        }
        const auto n = 2 * (text.size() + 1) / 5;
        if (n != 6 && n != 8 && n != 20) {
            return false;
        }
        for (std::size_t x = 0; x < text.size(); x += 5) {
            for (std::size_t k = 0; k < 4; ++k) {
                if (!hex(text[x + k])) {
                    return false;
                }
            }
            if (x + 4 < text.size() && text[x + 4] != '.') {
                return false;
            }
        }
        return true;
    }
    return false;
}

}  // namespace splitnet::util
