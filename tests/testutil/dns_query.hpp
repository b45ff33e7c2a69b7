#pragma once
// A DNS query message as a pod sends one: for the DNS split's parser and agent tests.

#include <cstdint>
#include <string>
#include <vector>

namespace splitnet::testutil {

struct DnsQueryFields {
    std::uint16_t id = 0xabcd;
    std::uint8_t flags = 0x01;  ///< header byte 2: RD set, QR clear, opcode QUERY
    std::uint16_t qdcount = 1;
    std::uint16_t qtype = 28;  ///< AAAA
};

/// The header, then one question whose name is `labels`, each written as it is (a dot inside one
/// stays a byte of that label), class IN.
inline std::vector<std::uint8_t> dns_query(const std::vector<std::string>& labels,
                                           const DnsQueryFields& fields = {}) {
    const auto high = [](std::uint16_t v) { return static_cast<std::uint8_t>(v >> 8U); };
    const auto low = [](std::uint16_t v) { return static_cast<std::uint8_t>(v & 0xffU); };
    std::vector<std::uint8_t> out = {high(fields.id),
                                     low(fields.id),
                                     fields.flags,
                                     0x00,
                                     high(fields.qdcount),
                                     low(fields.qdcount),
                                     0,
                                     0,
                                     0,
                                     0,
                                     0,
                                     0};
    for (const auto& label : labels) {
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
    }
    out.insert(out.end(), {0, high(fields.qtype), low(fields.qtype), 0, 1});
    return out;
}

}  // namespace splitnet::testutil
