#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace splitnet::util {

/// A JSON string literal exactly as Go's encoding/json writes it (HTML-safe: <, >, & as \u003c..,
/// U+2028/2029 escaped, invalid UTF-8 replaced by U+FFFD), so annotation values are byte-equal
/// to what Multus writes.
std::string go_quote(std::string_view text);

/// json.Marshal of a decoded interface{} value: sorted keys, compact, Go string escaping, numbers
/// as float64 would print them. Used where Multus re-marshals a map (NAD name injection).
std::string go_marshal(const nlohmann::json& value);

/// net.ParseMAC semantics: 6, 8 or 20 octets separated by ':' or '-', or dotted 4-hex groups.
bool is_go_mac(std::string_view text);

}  // namespace splitnet::util
