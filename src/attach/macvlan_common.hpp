#pragma once

// Pieces shared by the macvlan verbs. Private to attach/.

#include <string>
#include <string_view>

#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/delegate/invoker.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::attach::detail {

/// The IPAM plugin's call: same stdin and CNI_* values, the IPAM type as plugin.
delegate::PluginCall ipam_call(const delegate::PluginCall& call, cni::Verb verb,
                               const std::string& type);

/// The name ADD creates the link under before renaming it to `ifname` inside the pod netns:
/// "snt" + 12 hex digits of a hash of (container ID, ifname). Deterministic, so that DEL finds
/// the link of an ADD killed before the rename (Go's random "veth<8 hex>" would leak it).
std::string temp_link_name(std::string_view container_id, std::string_view ifname);

/// True when IPAM is exec'd (neither L2-only nor in-process static).
bool ipam_is_exec(const MacvlanConfig& conf);

/// Resolves and looks up the master in the netns of `nl` (the node's, or the pod's with
/// linkInContainer): configured name, else the default route's interface
/// (`no default route interface found`). A missing master:
/// `failed to lookup master "x": Link not found`.
net::LinkInfo lookup_master(net::Netlink& nl, const std::string& master);

/// Re-throws any exception as code 999 with the same text (Go plugins return plain errors, which
/// the skel reports as 999), keeping cni::Error codes >= 50 (e.g. 50 for STATUS) as they are.
[[noreturn]] void rethrow_as_plugin_error();

/// What ADD and CHECK establish before any side effect: the parsed config (errors as code 999),
/// the pod netns, a netlink socket in each netns, and the master, looked up and MTU-checked.
struct Session {
    explicit Session(const delegate::PluginCall& call);

    MacvlanConfig conf;
    util::UniqueFd pod_fd;
    net::Netlink node;
    net::Netlink pod;
    net::LinkInfo master;
};

}  // namespace splitnet::attach::detail
