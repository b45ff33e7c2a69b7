#pragma once

#include <optional>
#include <string>
#include <vector>

#include "splitnet/agent/dns_split.hpp"
#include "splitnet/egress/config.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/plan/plan.hpp"
#include "splitnet/store/state.hpp"

namespace splitnet::agent {

/// One attachment on the node, for the attachment gauge.
struct AttachmentSummary {
    std::string network;
    std::string kind;  ///< "native" (splitnet's in-process macvlan) or "delegated" (exec'd)
};

/// An egress attachment the gateway watch probes: the pod's netns, its net1 and gateway.
struct EgressTarget {
    store::StateKey key;  ///< the runtime's attachment (container ID, CNI_IFNAME)
    plan::PodRef pod;     ///< from K8S_POD_* of the attachment's CNI_ARGS
    std::string netns;    ///< CNI_NETNS as the runtime passed it
    std::string network;  ///< the egress network's name
    std::string ifname;   ///< the pod-side interface (net1)
    net::IpAddr source;   ///< net1 address of the gateway family (ARP sender, NDP source)
    net::IpAddr gateway;  ///< the VPN gateway (IPv4: ARP, IPv6: NDP)
    std::optional<egress::ProbeTarget> probe_target;  ///< egress.probeTarget, if any
};

/// What one state file says about the node.
struct NodeAttachments {
    std::vector<AttachmentSummary> attachments;
    std::vector<EgressTarget> egress;
    std::vector<DnsTarget> dns;  ///< egress attachments with egress.dns
};

/// Reads a finished ADD's state (phase Added; others yield nothing): every attachment with its
/// kind, and for every native attachment with an `egress` block one target per gateway whose
/// net1 address of the same family is known (IPv4; IPv6 too under "ipv6": "route"), the gateway
/// from the block, else from the attachment's own result. A network whose
/// config no longer parses is counted but not probed. Every native egress attachment with
/// egress.dns also yields a DnsTarget. Pure.
NodeAttachments summarize_state(const store::State& state);

}  // namespace splitnet::agent
