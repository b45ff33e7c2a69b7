// The agent's DNS split against a real pod netns: sockets made in the pod, closed when the pod
// leaves the state, nothing left behind (fds, threads) per pod.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "splitnet/agent/dns_split.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "testutil/netns_fixture.hpp"

namespace splitnet::agent {
namespace {

std::size_t open_fds() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

class DnsSplitTest : public testutil::NetnsFixture {
protected:
    void build_topology() override {
        auto& pod = pod_nl();
        const int lo = net::get_link(pod, "lo").index;
        net::set_link_up(pod, lo);
        net::add_address(pod, lo, *net::parse_cidr("10.43.0.10/32"));
    }

    DnsTarget target() const {
        DnsTarget t;
        t.key = {"cid", "net1"};
        t.netns = pod_path();
        t.network = "vpn";
        t.ifname = "net1";
        t.servers = {*net::parse_ip("192.0.2.53")};
        t.cluster_domain = "cluster.local";
        return t;
    }

    std::string listening() {
        return run_in(pod_path(), "ss -Hlntu | grep -c 10.43.0.10:53 || true");
    }
};

TEST_F(DnsSplitTest, ServesInThePodAndLetsGoWithoutLeaks) {
    const auto fds_before = open_fds();
    {
        DnsSplit split(DnsSplitOptions{.cluster_dns = *net::parse_ip("10.43.0.10")});
        split.sync({target()});
        EXPECT_EQ(split.pods_served(), 1U);
        EXPECT_EQ(listening(), "2\n");  // UDP and TCP, in the pod's netns
        split.sync({target()});         // unchanged: kept
        EXPECT_EQ(split.pods_served(), 1U);
        split.sync({});  // gone from the state: closed
        EXPECT_EQ(split.pods_served(), 0U);
        EXPECT_EQ(listening(), "0\n");
        EXPECT_EQ(open_fds(), fds_before);
        split.sync({target()});  // back (an agent restart, a retried ADD)
        EXPECT_EQ(listening(), "2\n");
    }
    // The destructor stops every pod's thread and closes its sockets.
    EXPECT_EQ(listening(), "0\n");
    EXPECT_EQ(open_fds(), fds_before);
}

TEST_F(DnsSplitTest, APodThatCannotBeServedYetIsRetriedNotFatal) {
    DnsSplit split(DnsSplitOptions{.cluster_dns = *net::parse_ip("10.43.0.99")});
    split.sync({target()});  // the address is not on the pod's lo: bind fails
    EXPECT_EQ(split.pods_served(), 0U);
    auto gone = target();
    gone.netns = "/var/run/netns/splitnet-test-does-not-exist";
    auto not_a_netns = target();
    not_a_netns.key.container_id = "other";
    not_a_netns.netns = "/dev/null";
    split.sync({gone, not_a_netns});
    EXPECT_EQ(split.pods_served(), 0U);
}

}  // namespace
}  // namespace splitnet::agent
