#include <fmt/format.h>

#include "macvlan_common.hpp"
#include "splitnet/attach/macvlan.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::attach {

void macvlan_status(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    const auto conf = parse_macvlan_config_for_del(call.config);
    if (detail::ipam_is_exec(conf)) {
        ipam.invoke(detail::ipam_call(call, cni::Verb::Status, conf.ipam_type));
    }
    MacvlanConfig full;
    try {
        full = parse_macvlan_config(call.config, "");
    } catch (...) {
        detail::rethrow_as_plugin_error();
    }
    if (full.link_in_container) {
        return;  // the master lives in a pod netns that STATUS does not know
    }
    // Not ready to create attachments on this node (the reference leaves this as a TODO).
    const auto not_available = [](const std::string& msg) {
        return cni::Error(cni::ErrorCode::NotAvailable, msg,
                          "the macvlan master interface is missing on this node");
    };
    net::Netlink node;
    try {
        detail::lookup_master(node, full.master);
    } catch (const cni::Error& e) {
        throw not_available(e.msg());
    } catch (const net::KernelError& e) {
        throw not_available(e.what());
    }
}

}  // namespace splitnet::attach
