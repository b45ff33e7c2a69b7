// A DNS query as a pod sends it to the agent's DNS split (UDP payload or one TCP message), and
// a reply as an upstream sends it back. The first byte picks the cluster domain the name is
// classified against.

#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz_support.hpp"
#include "splitnet/agent/dns_message.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(dns_query) {
    if (input.empty()) {
        return;
    }
    const std::string_view domain = (input.front() & 1) != 0 ? "cluster.local" : "svc.example";
    input.remove_prefix(1);
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(input.data()),
                                              input.size());
    const auto question = agent::parse_dns_query(bytes);
    (void)agent::is_reply_to(bytes, question ? question->id : 0);
    if (!question) {
        return;
    }
    // What the parser accepted is bounded as documented.
    std::size_t wire = 1;
    for (const auto& label : question->labels) {
        if (label.empty() || label.size() > 63) {
            std::abort();
        }
        wire += label.size() + 1;
    }
    if (wire > 255 || input.size() > agent::kMaxDnsMessage) {
        std::abort();
    }
    (void)agent::in_domain(*question, domain);
    (void)agent::printable_name(*question);
}
