#include "macvlan_common.hpp"
#include "splitnet/attach/egress_apply.hpp"
#include "splitnet/attach/macvlan.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"

namespace splitnet::attach {

void macvlan_del(const delegate::PluginCall& call, delegate::PluginInvoker& ipam) {
    // Go cmdDel (v1.4.0+): no master lookup, nothing that depends on node state.
    const auto conf = parse_macvlan_config_for_del(call.config);
    if (detail::ipam_is_exec(conf)) {
        // An IPAM DEL error fails the DEL, as in the reference (the address stays reserved).
        ipam.invoke(detail::ipam_call(call, cni::Verb::Del, conf.ipam_type));
    }
    if (call.netns.empty()) {
        return;
    }
    const auto pod_fd = net::open_netns_if_exists(call.netns);
    if (!pod_fd) {
        return;  // the netns is gone, and the link with it
    }
    egress_del(call.config, pod_fd->get());  // never throws; no-op without "egress"
    net::Netlink pod(pod_fd->get());
    net::delete_link(pod, call.ifname);  // false when already gone: fine
    // An ADD killed before its rename left the link under its temporary name. Only a macvlan of
    // that exact name is ours: nothing else in the pod is touched.
    const auto temp = detail::temp_link_name(call.container_id, call.ifname);
    if (const auto link = net::find_link(pod, temp); link && link->kind == "macvlan") {
        net::delete_link(pod, link->index);
    }
}

}  // namespace splitnet::attach
