// The configuration of a native macvlan attachment (from a NAD): the macvlan keys, static IPAM,
// the egress block and splitnetContext. Input: config, then optionally NUL + CNI_ARGS.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/egress/config.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(native_config) {
    const auto parts = fuzz::split_parts(input, 2);
    const auto config = parts[0];
    const auto cni_args = parts[1];
    fuzz::attempt([&] { (void)attach::parse_macvlan_config(config, cni_args); });
    fuzz::attempt([&] { (void)attach::parse_macvlan_config_for_del(config); });
    fuzz::attempt([&] { (void)attach::static_ipam_add(config, cni_args); });
    fuzz::attempt([&] { attach::static_ipam_check(config, cni_args, "net1"); });
    const auto doc = nlohmann::json::parse(config, nullptr, false);
    if (!doc.is_object()) {
        return;
    }
    fuzz::attempt([&] { (void)egress::parse_egress_config(doc); });
    fuzz::attempt([&] { (void)egress::parse_splitnet_context(doc); });
}
