// A delegate's configuration (NAD spec.config, confDir file, inline delegate): classified, checked
// the way Multus loads it, name-injected, and turned into each plugin's stdin.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/config/conf_files.hpp"
#include "splitnet/delegate/network.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(delegate_config) {
    fuzz::attempt([&] { (void)config::check_delegate_config(input); });
    fuzz::attempt([&] { (void)config::inject_network_name(input, "fuzz-net"); });
    fuzz::attempt([&] {
        const auto net = delegate::parse_network_config(input);
        const auto capability_args = nlohmann::json{
            {"ips", {"192.0.2.5/24"}}, {"mac", "02:00:00:00:00:01"}, {"portMappings", nullptr}};
        const auto prev_result = nlohmann::json{{"cniVersion", "1.0.0"}};
        for (const auto& plugin : net.plugins) {
            (void)delegate::build_plugin_config(net, plugin, capability_args, &prev_result);
        }
    });
}
