#pragma once

#include <array>
#include <string_view>

#include <nlohmann/json.hpp>

#include "splitnet/cni/result.hpp"

namespace splitnet::attach {

/// CNI_ARGS keys the static IPAM plugin knows (Go IPAMEnvArgs; IgnoreUnknown is common).
inline constexpr std::array<std::string_view, 2> kStaticArgKeys = {"IP", "GATEWAY"};

/// The static IPAM plugin's ADD, in-process and pure (plugins/ipam/static LoadIPAMConfig +
/// cmdAdd). Address precedence: runtimeConfig.ips > args.cni.ips > ipam.addresses + CNI_ARGS IP
/// (appended; GATEWAY sets the gateway of the CNI_ARGS addresses whose subnet contains it).
/// Returns the IPAM result (cniVersion of the config, ips without interface index, routes as
/// configured, ipam.dns). Errors carry static's exact texts (code 999), e.g.
/// `the 'address' field is expected to be in CIDR notation, got: 'x'`.
cni::Result static_ipam_add(std::string_view config_json, std::string_view cni_args);

/// static's CHECK: prevResult required (`Required prevResult missing`); every configured address
/// present in it must carry the configured gateway.
void static_ipam_check(std::string_view config_json, std::string_view cni_args,
                       std::string_view ifname);

}  // namespace splitnet::attach
