#include "splitnet/attach/macvlan_config.hpp"

#include <fmt/format.h>

#include "splitnet/attach/json_fields.hpp"
#include "splitnet/cni/args.hpp"
#include "splitnet/cni/error.hpp"

namespace splitnet::attach {

namespace {

constexpr std::string_view kPrefix = "failed to load netconf";

net::MacvlanMode mode_from_text(const std::string& text) {
    // Go modeFromString: "" is bridge; "source" is not supported by the reference plugin.
    if (text.empty()) {
        return net::MacvlanMode::Bridge;
    }
    const auto mode = net::parse_macvlan_mode(text);
    if (!mode || *mode == net::MacvlanMode::Source) {
        throw cni::Error(cni::ErrorCode::Other, fmt::format("unknown macvlan mode: \"{}\"", text));
    }
    return *mode;
}

net::MacAddr mac_from_text(const std::string& text) {
    const auto mac = net::parse_mac(text);
    if (!mac) {
        throw cni::Error(
            cni::ErrorCode::Other,
            fmt::format("invalid args {} for MAC addr: address {}: invalid MAC address", text,
                        text));
    }
    if (!net::is_unicast_mac(*mac)) {
        throw cni::Error(cni::ErrorCode::Other,
                         fmt::format("invalid args {} for MAC addr: not a unicast address (the "
                                     "multicast bit is set or it is all zeros)",
                                     text));
    }
    return *mac;
}

MacvlanConfig decode_common(const nlohmann::json& doc) {
    MacvlanConfig conf;
    conf.name = detail::string_field(doc, "name", kPrefix);
    conf.cni_version = detail::string_field(doc, "cniVersion", kPrefix);
    if (const auto* ipam = detail::object_field(doc, "ipam", kPrefix); ipam != nullptr) {
        conf.ipam_type = detail::string_field(*ipam, "type", kPrefix);
    }
    if (const auto it = doc.find("prevResult"); it != doc.end() && !it->is_null()) {
        conf.prev_result = *it;
    }
    return conf;
}

}  // namespace

MacvlanConfig parse_macvlan_config(std::string_view config_json, std::string_view cni_args) {
    const auto doc = detail::parse_object(config_json, kPrefix);
    auto conf = decode_common(doc);
    conf.master = detail::string_field(doc, "master", kPrefix);
    const auto mode_text = detail::string_field(doc, "mode", kPrefix);
    conf.mtu = detail::int_field(doc, "mtu", kPrefix);
    conf.link_in_container = detail::bool_field(doc, "linkInContainer", kPrefix);
    conf.dns = detail::parse_dns(detail::object_field(doc, "dns", kPrefix), kPrefix);

    std::string mac = detail::string_field(doc, "mac", kPrefix);
    std::string runtime_mac;
    if (const auto* rc = detail::object_field(doc, "runtimeConfig", kPrefix); rc != nullptr) {
        runtime_mac = detail::string_field(*rc, "mac", kPrefix);
    }
    // Go loadConf: CNI_ARGS (only when set) are checked against MacEnvArgs, then runtimeConfig.
    if (!cni_args.empty()) {
        const auto pairs = cni::parse_cni_args(cni_args);
        cni::check_known_args(pairs, {kMacvlanArgKeys.begin(), kMacvlanArgKeys.end()});
        if (auto arg_mac = cni::arg_value(pairs, "MAC"); !arg_mac.empty()) {
            mac = std::move(arg_mac);
        }
    }
    if (!runtime_mac.empty()) {
        mac = runtime_mac;
    }
    conf.mode = mode_from_text(mode_text);
    if (!mac.empty()) {
        conf.mac = mac_from_text(mac);
    }
    return conf;
}

MacvlanConfig parse_macvlan_config_for_del(std::string_view config_json) {
    const auto doc = detail::parse_object(config_json, "failed to load netConf");
    return decode_common(doc);
}

void check_mtu(int mtu, unsigned master_mtu) {
    if (mtu < 0 || static_cast<unsigned>(mtu) > master_mtu) {
        throw cni::Error(
            cni::ErrorCode::Other,
            fmt::format("invalid MTU {}, must be [0, master MTU({})]", mtu, master_mtu));
    }
}

}  // namespace splitnet::attach
