#include <fcntl.h>

#include <linux/if.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/sysctl.hpp"
#include "testutil/netns_fixture.hpp"

namespace splitnet::net {
namespace {

using testutil::NetnsFixture;

class NetLinkTest : public NetnsFixture {};

TEST_F(NetLinkTest, OpenNetnsChecksFilesystem) {
    auto fd = open_netns(pod_path());
    EXPECT_TRUE(same_netns(fd.get(), pod_fd()));
    EXPECT_FALSE(same_netns(fd.get(), node_fd()));
    EXPECT_FALSE(open_netns_if_exists("/run/splitnet-no-such-netns"));
    EXPECT_THROW(open_netns("/run/splitnet-no-such-netns"), cni::Error);
    try {
        open_netns("/etc/hostname");
        FAIL() << "a regular file must not be accepted as a netns";
    } catch (const cni::Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown FS magic"), std::string::npos) << e.what();
    }
}

TEST_F(NetLinkTest, GuardEntersAndReturns) {
    {
        NetnsGuard guard(pod_fd());
        auto here = open_current_netns();
        EXPECT_TRUE(same_netns(here.get(), pod_fd()));
    }
    auto here = open_current_netns();
    EXPECT_TRUE(same_netns(here.get(), node_fd()));
}

TEST_F(NetLinkTest, SocketActsInItsNetns) {
    Netlink pod(pod_fd());
    // mst0 lives in the node netns only.
    EXPECT_FALSE(find_link(pod, kMaster));
    Netlink node;
    EXPECT_TRUE(find_link(node, kMaster));
    // The thread is still in the node netns.
    auto here = open_current_netns();
    EXPECT_TRUE(same_netns(here.get(), node_fd()));
}

TEST_F(NetLinkTest, MacvlanCreatedDirectlyInTargetNetns) {
    Netlink node;
    Netlink pod(pod_fd());
    const auto master = get_link(node, kMaster);
    MacvlanSpec spec;
    spec.name = "tmp0";
    spec.master_index = master.index;
    spec.mode = MacvlanMode::Vepa;
    spec.mtu = 1400;
    spec.mac = parse_mac("02:00:00:00:00:42");
    create_macvlan(node, spec, pod_fd());

    EXPECT_FALSE(find_link(node, "tmp0"));
    auto link = find_link(pod, "tmp0");
    ASSERT_TRUE(link);
    EXPECT_EQ(link->kind, "macvlan");
    EXPECT_EQ(link->macvlan_mode, MacvlanMode::Vepa);
    EXPECT_EQ(link->mtu, 1400U);
    EXPECT_EQ(link->mac, "02:00:00:00:00:42");
    EXPECT_FALSE(link->is_up());

    // Same name again in the target: EEXIST, named in the message.
    try {
        create_macvlan(node, spec, pod_fd());
        FAIL() << "duplicate create must fail";
    } catch (const NetlinkError& e) {
        EXPECT_TRUE(e.is_exists());
        EXPECT_NE(std::string(e.what()).find("tmp0"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("file exists"), std::string::npos) << e.what();
    }

    rename_link(pod, link->index, "net1");
    set_link_mtu(pod, link->index, 1300);
    set_link_mac(pod, link->index, *parse_mac("02:00:00:00:00:43"));
    set_link_up(pod, link->index);
    auto renamed = get_link(pod, "net1");
    EXPECT_EQ(renamed.index, link->index);
    EXPECT_TRUE(renamed.is_up());
    EXPECT_EQ(renamed.mtu, 1300U);
    EXPECT_EQ(renamed.mac, "02:00:00:00:00:43");
    EXPECT_FALSE(find_link(pod, "tmp0"));

    set_link_up(pod, link->index, false);
    EXPECT_FALSE(get_link(pod, "net1").is_up());

    EXPECT_TRUE(delete_link(pod, "net1"));
    EXPECT_FALSE(delete_link(pod, "net1"));
    EXPECT_FALSE(delete_link(pod, link->index));
    EXPECT_FALSE(find_link(pod, "net1"));
}

TEST_F(NetLinkTest, MacvlanDefaultsInheritMasterMtuAndTxqlen) {
    Netlink node;
    Netlink pod(pod_fd());
    MacvlanSpec spec;
    spec.name = "tmp1";
    spec.master_index = get_link(node, kMaster).index;
    create_macvlan(node, spec, pod_fd());
    auto link = get_link(pod, "tmp1");
    EXPECT_EQ(link.mtu, get_link(node, kMaster).mtu);
    EXPECT_EQ(link.macvlan_mode, MacvlanMode::Bridge);
    // The tx queue length is not forced to 0 (plugins commit 3a49cff1).
    const auto shown = run_in(pod_path(), "ip -j -d link show tmp1");
    EXPECT_EQ(shown.find("\"txqlen\":0,"), std::string::npos) << shown;
    EXPECT_NE(shown.find("\"txqlen\":"), std::string::npos) << shown;
}

TEST_F(NetLinkTest, RenameOntoExistingNameFailsAndKeepsBoth) {
    Netlink node;
    Netlink pod(pod_fd());
    MacvlanSpec spec;
    spec.master_index = get_link(node, kMaster).index;
    spec.name = "a0";
    create_macvlan(node, spec, pod_fd());
    spec.name = "b0";
    create_macvlan(node, spec, pod_fd());
    const auto a = get_link(pod, "a0");
    try {
        rename_link(pod, a.index, "b0");
        FAIL() << "rename onto an existing name must fail";
    } catch (const NetlinkError& e) {
        EXPECT_TRUE(e.is_exists()) << e.what();
    }
    EXPECT_TRUE(find_link(pod, "a0"));
    EXPECT_TRUE(find_link(pod, "b0"));
}

TEST_F(NetLinkTest, NonMacvlanReadsWithoutAbort) {
    Netlink node;
    auto veth = get_link(node, kMaster);
    EXPECT_EQ(veth.kind, "veth");
    EXPECT_FALSE(veth.macvlan_mode);
    auto by_index = find_link(node, veth.index);
    ASSERT_TRUE(by_index);
    EXPECT_EQ(by_index->name, kMaster);
    EXPECT_FALSE(find_link(node, "nope0"));
    try {
        get_link(node, "nope0");
        FAIL();
    } catch (const cni::Error& e) {
        EXPECT_NE(std::string(e.what()).find("nope0"), std::string::npos);
    }
}

TEST_F(NetLinkTest, MissingMasterNamesOperation) {
    Netlink node;
    MacvlanSpec spec;
    spec.name = "tmp2";
    spec.master_index = 9999;
    try {
        create_macvlan(node, spec, pod_fd());
        FAIL();
    } catch (const NetlinkError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("create macvlan \"tmp2\""), std::string::npos) << msg;
        EXPECT_NE(msg.find("9999"), std::string::npos) << msg;
    }
}

TEST_F(NetLinkTest, SysctlFollowsNetns) {
    Netlink node;
    Netlink pod(pod_fd());
    MacvlanSpec spec;
    spec.name = "s0";
    spec.master_index = get_link(node, kMaster).index;
    create_macvlan(node, spec, pod_fd());
    write_sysctls_in(pod_fd(),
                     {{"net/ipv4/conf/s0/arp_notify", "1"}, {"net/ipv6/conf/s0/accept_dad", "0"}});
    EXPECT_EQ(read_sysctl_in(pod_fd(), "net/ipv4/conf/s0/arp_notify"), "1");
    EXPECT_EQ(read_sysctl_in(pod_fd(), "net/ipv6/conf/s0/accept_dad"), "0");
    // s0 does not exist in the node netns.
    EXPECT_THROW(read_sysctl("net/ipv4/conf/s0/arp_notify"), cni::Error);
    EXPECT_THROW(write_sysctl("kernel/hostname", "x"), cni::Error);
    EXPECT_THROW(write_sysctl("net/../kernel/hostname", "x"), cni::Error);
}

}  // namespace
}  // namespace splitnet::net
