#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "splitnet/cni/result.hpp"
#include "splitnet/egress/config.hpp"

namespace splitnet::egress {

/// Where the egress policy acts: the pod netns and the egress interface (net1) with the
/// addresses its IPAM gave it.
struct EgressTarget {
    int netns_fd = -1;
    std::string ifname;
    std::vector<cni::IpConfig> ips;
};

/// Hooks for the native macvlan attachment, given the plugin's config bytes. Each is a no-op
/// when the config has no "egress" block, and each throws cni::Error on failure: the caller's
/// rollback (net1 deleted, then egress_del) must run, so a pod never starts half-protected.

/// After net1 is created and named, before its addresses are added: validates the policy
/// (config errors surface before any address exists), sets rp_filter=2 and arp_notify=1 on net1
/// (and accept_ra=0/autoconf=0 unless ipv6 is "allow") and, with probeConflict, brings net1 up
/// and ARP-probes each static IPv4 address (RFC 5227): a reply fails ADD naming the MAC.
void egress_before_addresses(std::string_view config, const EgressTarget& target);

/// After net1's addresses and routes: probes the gateway (ARP/NDP from net1, 3 x 100 ms;
/// "require" fails ADD, "warn" logs), then installs the policy: keep prefixes via eth0's
/// gateway (read from the pod's table), unreachable guards, eth0's default (and any route that
/// would let non-kept traffic out via eth0) removed, the default via the gateway on net1.
void egress_after_routes(std::string_view config, const EgressTarget& target);

/// Which part of the ADD this call does (parse_egress_step on the config bytes).
EgressStep egress_step(std::string_view config);

/// CHECK: the whole policy is in place (routes, guards, no way out via eth0, net1 sysctls).
/// Throws cni::Error listing every deviation.
void egress_check(std::string_view config, const EgressTarget& target);

/// DEL: removes the routes egress added (found by their protocol), VPN defaults first and the
/// unreachable guards last. eth0 is not restored: the pod is going away. Never throws (a DEL
/// must get through): failures are logged, and a retried ADD skips routes already present.
void egress_del(std::string_view config, int netns_fd);

}  // namespace splitnet::egress
