#include "splitnet/net/probe.hpp"

#include <chrono>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/sys_error.hpp"
#include "testutil/netns_fixture.hpp"

namespace splitnet::net {
namespace {

/// Pod netns with a macvlan "net1" on the node's veth; the veth peer in the node netns plays the
/// other host on the segment (the VPN gateway, or whoever already holds an address).
class ProbeTest : public testutil::NetnsFixture {
protected:
    void build_topology() override {
        net1_ = create_pod_macvlan("net1", LinkState::Up);
        const auto peer = get_link(node_nl(), kMasterPeer);
        peer_mac_ = *parse_mac(peer.mac);
        add_address(node_nl(), peer.index, *parse_cidr("192.168.99.1/24"));
        add_address(node_nl(), peer.index, *parse_cidr("2001:db8:99::1/64"));
    }

    int net1_ = 0;
    MacAddr peer_mac_{};
};

TEST_F(ProbeTest, ConflictProbeNamesTheHolder) {
    EXPECT_EQ(arp_probe_conflict(pod_fd(), "net1", *parse_ip("192.168.99.1")), peer_mac_);
}

TEST_F(ProbeTest, FreeAddressIsFreeWithinTheBound) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(arp_probe_conflict(pod_fd(), "net1", *parse_ip("192.168.99.77")));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(290));
    EXPECT_LT(took, std::chrono::milliseconds(1000));
    // A probe leaves nothing in the holder's neighbour cache (sender 0.0.0.0).
    EXPECT_EQ(run("ip neigh show 192.168.99.77"), "");
}

TEST_F(ProbeTest, ArpResolvesTheGateway) {
    add_address(pod_nl(), net1_, *parse_cidr("192.168.99.99/24"));
    EXPECT_EQ(arp_resolve(pod_fd(), "net1", *parse_ip("192.168.99.99"), *parse_ip("192.168.99.1")),
              peer_mac_);
    EXPECT_FALSE(arp_resolve(pod_fd(), "net1", *parse_ip("192.168.99.99"),
                             *parse_ip("192.168.99.2"),
                             ProbeOptions{2, std::chrono::milliseconds(50)}));
}

TEST_F(ProbeTest, NdpResolvesTheGateway) {
    add_address(pod_nl(), net1_, *parse_cidr("2001:db8:99::5/64"));
    EXPECT_EQ(
        ndp_resolve(pod_fd(), "net1", *parse_ip("2001:db8:99::5"), *parse_ip("2001:db8:99::1")),
        peer_mac_);
    EXPECT_FALSE(ndp_resolve(pod_fd(), "net1", *parse_ip("2001:db8:99::5"),
                             *parse_ip("2001:db8:99::2"),
                             ProbeOptions{2, std::chrono::milliseconds(50)}));
}

TEST_F(ProbeTest, DownLinkIsAnErrorNotASilentPass) {
    set_link_up(pod_nl(), net1_, false);
    try {
        arp_probe_conflict(pod_fd(), "net1", *parse_ip("192.168.99.1"));
        FAIL() << "expected an error";
    } catch (const KernelError& e) {
        EXPECT_EQ(std::string(e.what()), "probe: interface \"net1\" is down; bring it up first");
    }
}

}  // namespace
}  // namespace splitnet::net
