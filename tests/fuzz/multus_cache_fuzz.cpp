// Go Multus' scratch cache (<multusCniDir>/<containerID>), read by DEL after a migration.

#include "fuzz_support.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/store/multus_cache.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(multus_cache) {
    const auto attachments = store::parse_multus_cache(input, "eth0", "1.0.0");
    for (const auto& attachment : attachments) {
        // What DEL does with each: its config is a delegate configuration.
        fuzz::attempt([&] { (void)delegate::parse_network_config(attachment.config); });
        (void)attachment.runtime_config.dump();
    }
}
