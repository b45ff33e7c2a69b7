#include <cerrno>
#include <fcntl.h>

#include <linux/if.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/net/sysctl.hpp"
#include "testutil/netns_fixture.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::net {
namespace {

using testutil::NetnsFixture;

class NetLinkTest : public NetnsFixture {};

TEST_F(NetLinkTest, OpenNetnsChecksFilesystem) {
    auto fd = open_netns(pod_path());
    EXPECT_TRUE(same_netns(fd.get(), pod_fd()));
    EXPECT_FALSE(same_netns(fd.get(), node_fd()));
    EXPECT_FALSE(open_netns_if_exists("/run/splitnet-no-such-netns"));
    EXPECT_THROW(open_netns("/run/splitnet-no-such-netns"), KernelError);
    const auto error = testutil::thrown<KernelError>([&] { open_netns("/etc/hostname"); });
    ASSERT_TRUE(error) << "a regular file must not be accepted as a netns";
    EXPECT_NE(std::string(error->what()).find("unknown FS magic"), std::string::npos)
        << error->what();
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
    auto& node = node_nl();
    auto& pod = pod_nl();
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
    const auto error =
        testutil::thrown<NetlinkError>([&] { create_macvlan(node, spec, pod_fd()); });
    ASSERT_TRUE(error) << "duplicate create must fail";
    EXPECT_EQ(error->sys_errno(), EEXIST);
    EXPECT_NE(std::string(error->what()).find("tmp0"), std::string::npos) << error->what();
    EXPECT_NE(std::string(error->what()).find("file exists"), std::string::npos) << error->what();

    rename_link(pod, link->index, "net1");
    set_link_up(pod, link->index);
    auto renamed = get_link(pod, "net1");
    EXPECT_EQ(renamed.index, link->index);
    EXPECT_TRUE(renamed.is_up());
    EXPECT_FALSE(find_link(pod, "tmp0"));

    set_link_up(pod, link->index, false);
    EXPECT_FALSE(get_link(pod, "net1").is_up());

    EXPECT_TRUE(delete_link(pod, "net1"));
    EXPECT_FALSE(delete_link(pod, "net1"));
    EXPECT_FALSE(delete_link(pod, link->index));
    EXPECT_FALSE(find_link(pod, "net1"));
}

TEST_F(NetLinkTest, MacvlanDefaultsInheritMasterMtuAndTxqlen) {
    create_pod_macvlan("tmp1");
    auto link = get_link(pod_nl(), "tmp1");
    EXPECT_EQ(link.mtu, get_link(node_nl(), kMaster).mtu);
    EXPECT_EQ(link.macvlan_mode, MacvlanMode::Bridge);
    // The tx queue length is not forced to 0 (plugins commit 3a49cff1).
    const auto shown = run_in(pod_path(), "ip -j -d link show tmp1");
    EXPECT_EQ(shown.find("\"txqlen\":0,"), std::string::npos) << shown;
    EXPECT_NE(shown.find("\"txqlen\":"), std::string::npos) << shown;
}

TEST_F(NetLinkTest, RenameOntoExistingNameFailsAndKeepsBoth) {
    const int a0 = create_pod_macvlan("a0");
    create_pod_macvlan("b0");
    const auto error = testutil::thrown<NetlinkError>([&] { rename_link(pod_nl(), a0, "b0"); });
    ASSERT_TRUE(error) << "rename onto an existing name must fail";
    EXPECT_EQ(error->sys_errno(), EEXIST) << error->what();
    EXPECT_TRUE(find_link(pod_nl(), "a0"));
    EXPECT_TRUE(find_link(pod_nl(), "b0"));
}

TEST_F(NetLinkTest, NonMacvlanReadsWithoutAbort) {
    auto& node = node_nl();
    auto veth = get_link(node, kMaster);
    EXPECT_EQ(veth.kind, "veth");
    EXPECT_FALSE(veth.macvlan_mode);
    auto by_index = find_link(node, veth.index);
    ASSERT_TRUE(by_index);
    EXPECT_EQ(by_index->name, kMaster);
    EXPECT_FALSE(find_link(node, "nope0"));
    const auto error = testutil::thrown<KernelError>([&] { get_link(node, "nope0"); });
    ASSERT_TRUE(error) << "a missing link must be an error";
    EXPECT_NE(std::string(error->what()).find("nope0"), std::string::npos) << error->what();
}

TEST_F(NetLinkTest, MissingMasterNamesOperation) {
    MacvlanSpec spec;
    spec.name = "tmp2";
    spec.master_index = 9999;
    const auto error =
        testutil::thrown<NetlinkError>([&] { create_macvlan(node_nl(), spec, pod_fd()); });
    ASSERT_TRUE(error) << "a macvlan on a missing master must fail";
    const std::string msg = error->what();
    EXPECT_NE(msg.find("create macvlan \"tmp2\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("9999"), std::string::npos) << msg;
}

TEST_F(NetLinkTest, SysctlFollowsNetns) {
    create_pod_macvlan("s0");
    write_sysctls_in(pod_fd(),
                     {{"net/ipv4/conf/s0/arp_notify", "1"}, {"net/ipv6/conf/s0/accept_dad", "0"}});
    EXPECT_EQ(read_sysctl_in(pod_fd(), "net/ipv4/conf/s0/arp_notify"), "1");
    EXPECT_EQ(read_sysctl_in(pod_fd(), "net/ipv6/conf/s0/accept_dad"), "0");
    // s0 does not exist in the node netns.
    EXPECT_THROW(read_sysctl("net/ipv4/conf/s0/arp_notify"), KernelError);
    EXPECT_THROW(write_sysctl("kernel/hostname", "x"), KernelError);
    EXPECT_THROW(write_sysctl("net/../kernel/hostname", "x"), KernelError);
}

}  // namespace
}  // namespace splitnet::net
