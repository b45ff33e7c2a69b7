#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "splitnet/net/netlink.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::testutil {

/// Creates a veth pair `name` <-> `peer`; the peer goes to `peer_netns_fd` (-1 = same netns).
/// Only tests need veths: splitnet itself creates macvlans.
void create_veth(net::Netlink& nl, std::string_view name, std::string_view peer,
                 int peer_netns_fd = -1);

/// Privileged test fixture: the test process unshare(CLONE_NEWNET)s into a private "node" netns
/// (gtest_discover_tests runs every test in its own process), where a veth pair
/// `kMaster`/`kMasterPeer` (both up) serves as macvlan master; a second netns, held only by an
/// fd, plays the pod: CNI_NETNS = pod_path() = /proc/<pid>/fd/<n>. Nothing outside these
/// namespaces is touched. Skips when not root.
class NetnsFixture : public ::testing::Test {
public:
    static constexpr const char* kMaster = "mst0";
    static constexpr const char* kMasterPeer = "mst0p";

    enum class LinkState { Down, Up };

    /// Runs `command` with /bin/sh inside the netns `netns_path` (nsenter) and returns stdout.
    /// Fails the test on a non-zero exit.
    static std::string run_in(const std::string& netns_path, const std::string& command);

    /// Runs `command` with /bin/sh in the current (node) netns; returns stdout.
    static std::string run(const std::string& command);

protected:
    /// Creates the namespaces and the master, then calls build_topology().
    void SetUp() override;
    void TearDown() override;

    /// A subclass's own links and addresses. Called at the end of SetUp only when the namespaces
    /// exist (not when the test is skipped or SetUp failed), so it needs no such checks.
    virtual void build_topology() {}

    /// The private node netns (the test thread is in it).
    [[nodiscard]] int node_fd() const { return node_.get(); }

    /// The pod netns and its CNI_NETNS path.
    [[nodiscard]] int pod_fd() const { return pod_.get(); }

    [[nodiscard]] const std::string& pod_path() const { return pod_path_; }

    /// Netlink sockets in the node and the pod netns, open from SetUp to TearDown.
    [[nodiscard]] net::Netlink& node_nl() { return *node_nl_; }

    [[nodiscard]] net::Netlink& pod_nl() { return *pod_nl_; }

    /// Creates the macvlan `name` on kMaster directly inside the pod netns, in bridge mode with
    /// the kernel's defaults, down (as the kernel creates it) unless `state` says Up; returns its
    /// pod ifindex.
    int create_pod_macvlan(const std::string& name, LinkState state = LinkState::Down);

    /// Makes another detached netns held by an fd, returns its /proc/<pid>/fd/<n> path.
    std::string make_extra_netns(util::UniqueFd& holder);

    /// Gives the master 192.0.2.1/24 and a default route via 192.0.2.254 in the node netns.
    void add_node_default_route();

private:
    util::UniqueFd node_;
    util::UniqueFd pod_;
    std::string pod_path_;
    std::optional<net::Netlink> node_nl_;
    std::optional<net::Netlink> pod_nl_;
};

/// Creates a fresh netns without entering it for good: unshare, open, return to `back_fd`.
util::UniqueFd make_detached_netns(int back_fd);

}  // namespace splitnet::testutil
