#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "splitnet/cni/result.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/net/link.hpp"

namespace splitnet::attach {

/// The macvlan plugin's configuration (Go NetConf of plugins/main/macvlan), decoded and with
/// the MAC precedence applied. Pure: nothing here looks at the kernel.
struct MacvlanConfig {
    std::string name;
    std::string cni_version;
    std::string master;  ///< "" = the default route's interface
    net::MacvlanMode mode = net::MacvlanMode::Bridge;
    int mtu = 0;  ///< 0 = inherit the master's
    /// runtimeConfig.mac > CNI_ARGS MAC > config "mac"; validated unicast.
    std::optional<net::MacAddr> mac;
    bool link_in_container = false;
    std::string ipam_type;  ///< "" = L2 only (no addresses)
    cni::Dns dns;           ///< top-level dns: the result's dns (IPAM's is dropped, as Go's)
    std::optional<nlohmann::json> prev_result;

    [[nodiscard]] bool is_layer3() const { return !ipam_type.empty(); }
};

/// CNI_ARGS keys the macvlan plugin knows (Go MacEnvArgs; IgnoreUnknown is common).
inline constexpr std::array<std::string_view, 1> kMacvlanArgKeys = {"MAC"};

/// Decodes stdin like Go's loadConf minus its kernel lookups. Errors (code 999):
/// `failed to load netconf: ...`, `unknown macvlan mode: "x"`,
/// `invalid args <mac> for MAC addr: ...`, `ARGS: ...` for CNI_ARGS problems.
MacvlanConfig parse_macvlan_config(std::string_view config_json, std::string_view cni_args);

/// Only what DEL needs (Go's cmdDel unmarshals and nothing else): never fails on mode, MAC or
/// master, so a DEL always gets through.
MacvlanConfig parse_macvlan_config_for_del(std::string_view config_json);

/// `invalid MTU 9000, must be [0, master MTU(1500)]` when mtu is outside [0, master_mtu].
void check_mtu(int mtu, unsigned master_mtu);

}  // namespace splitnet::attach
