#pragma once

#include <string>

#include "splitnet/delegate/invoker.hpp"

namespace splitnet::attach {

/// The verbs of the reference macvlan plugin, done in-process. `call` is what the plugin binary
/// would get (stdin + CNI_*); `ipam` execs IPAM plugins other than "static" (which is done
/// in-process). Errors are cni::Error with the reference's texts (code 999 unless stated).

/// ADD: returns the result document in the config's cniVersion. Any failure removes the link
/// and DELs an exec'd IPAM.
std::string macvlan_add(const delegate::PluginCall& call, delegate::PluginInvoker& ipam);

/// DEL: IPAM DEL (exec'd IPAM), then the link, if the netns and the link are still there.
void macvlan_del(const delegate::PluginCall& call, delegate::PluginInvoker& ipam);

/// CHECK: link, mode, MAC, addresses and routes (in the table they were installed in) against
/// prevResult.
void macvlan_check(const delegate::PluginCall& call, delegate::PluginInvoker& ipam);

/// STATUS: an exec'd IPAM's STATUS, then the master: code 50 when it is missing.
void macvlan_status(const delegate::PluginCall& call, delegate::PluginInvoker& ipam);

}  // namespace splitnet::attach
