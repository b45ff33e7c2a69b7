// The agent's DNS split against a real pod netns: sockets made in the pod, closed when the pod
// leaves the state, nothing left behind (fds, threads) per pod.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/agent/dns_split.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/util/unique_fd.hpp"
#include "testutil/dns_query.hpp"
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

    /// Connections on the pod's TCP listener that the agent has not accepted yet.
    std::string tcp_accept_queue() {
        return run_in(pod_path(), R"(ss -Hltn src 10.43.0.10:53 | awk "{print \$2}")");
    }

    util::UniqueFd pod_socket(int type) {
        return util::UniqueFd(
            net::in_netns(pod_fd(), [type] { return ::socket(AF_INET, type | SOCK_CLOEXEC, 0); }));
    }
};

using Bytes = std::vector<std::uint8_t>;

sockaddr_in dns_address(const char* ip) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(53);
    ::inet_pton(AF_INET, ip, &address.sin_addr);
    return address;
}

/// Bounds every wait of a test that goes wrong (a missing answer), never the pace of one that
/// goes right.
void bound_receive(int fd, std::chrono::seconds bound) {
    const timeval tv{.tv_sec = bound.count(), .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

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

// A TCP connection that waits for its client does not hold up the pod's UDP queries: the stand-in
// cluster DNS (in this test's node netns) answers a UDP query for a cluster name while the agent
// has accepted a connection whose query has not arrived (and waits up to a minute for it).
TEST_F(DnsSplitTest, AWaitingTcpConnectionDoesNotHoldUpUdp) {
    auto& node = node_nl();
    const int node_lo = net::get_link(node, "lo").index;
    net::set_link_up(node, node_lo);
    net::add_address(node, node_lo, *net::parse_cidr("10.43.0.10/32"));
    const util::UniqueFd cluster_dns(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const auto cluster_address = dns_address("10.43.0.10");
    ASSERT_EQ(::bind(cluster_dns.get(), reinterpret_cast<const sockaddr*>(&cluster_address),
                     sizeof(cluster_address)),
              0);
    bound_receive(cluster_dns.get(), std::chrono::seconds(60));
    std::jthread answer_one([fd = cluster_dns.get()] {
        Bytes query(512);
        sockaddr_storage peer{};
        socklen_t length = sizeof(peer);
        const auto n = ::recvfrom(fd, query.data(), query.size(), 0,
                                  reinterpret_cast<sockaddr*>(&peer), &length);
        if (n >= 12) {
            query[2] |= 0x80U;  // the query itself, as its reply
            ::sendto(fd, query.data(), static_cast<std::size_t>(n), 0,
                     reinterpret_cast<const sockaddr*>(&peer), length);
        }
    });

    DnsSplit split(DnsSplitOptions{.cluster_dns = *net::parse_ip("10.43.0.10"),
                                   .upstream_timeout = std::chrono::minutes(1)});
    split.sync({target()});
    ASSERT_EQ(split.pods_served(), 1U);

    // One byte of a length prefix, then nothing: the agent waits for the rest.
    const auto tcp = pod_socket(SOCK_STREAM);
    ASSERT_EQ(::connect(tcp.get(), reinterpret_cast<const sockaddr*>(&cluster_address),
                        sizeof(cluster_address)),
              0);
    const std::uint8_t half = 0;
    ASSERT_EQ(::send(tcp.get(), &half, 1, 0), 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (tcp_accept_queue() != "0\n" && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(tcp_accept_queue(), "0\n") << "the agent never accepted the connection";

    const auto udp = pod_socket(SOCK_DGRAM);
    bound_receive(udp.get(), std::chrono::seconds(30));
    const auto query =
        testutil::dns_query({"api", "default", "svc", "cluster", "local"}, {.id = 0x4242});
    ASSERT_EQ(
        ::sendto(udp.get(), query.data(), query.size(), 0,
                 reinterpret_cast<const sockaddr*>(&cluster_address), sizeof(cluster_address)),
        static_cast<ssize_t>(query.size()));
    Bytes reply(512);
    const auto n = ::recv(udp.get(), reply.data(), reply.size(), 0);
    ASSERT_EQ(n, static_cast<ssize_t>(query.size())) << "no answer while TCP waits";
    EXPECT_EQ(reply[0], 0x42);
    EXPECT_EQ(reply[1], 0x42);
    EXPECT_NE(reply[2] & 0x80U, 0U);
}

}  // namespace
}  // namespace splitnet::agent
