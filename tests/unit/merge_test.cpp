#include "splitnet/verbs/merge.hpp"

#include <gtest/gtest.h>

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// Debian ptp's shape: host veth first, then the sandbox interface.
json primary_result() {
    return json::parse(R"({"cniVersion":"1.0.0",
      "interfaces":[{"name":"veth1234","mac":"aa:aa:aa:aa:aa:01"},
                    {"name":"eth0","mac":"aa:aa:aa:aa:aa:02","sandbox":"/run/netns/p"}],
      "ips":[{"interface":1,"address":"10.42.0.5/24","gateway":"10.42.0.1"}],
      "routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.43.0.10"],"search":["svc"]}})");
}

json secondary_result() {
    return json::parse(R"({"cniVersion":"0.3.1",
      "interfaces":[{"name":"net1","mac":"02:00:00:00:00:09","sandbox":"/run/netns/p"}],
      "ips":[{"version":"4","interface":0,"address":"192.168.99.99/24","gateway":"192.168.99.1"}],
      "routes":[{"dst":"203.0.113.0/24","gw":"192.168.99.1"}],"dns":{"nameservers":["9.9.9.9"]}})");
}

TEST(Merge, ReindexesIpsToTheirOwnInterfaces) {
    const auto merged = merge_results({{"eth0", primary_result()}, {"net1", secondary_result()}},
                                      "/run/netns/p", "1.0.0");
    ASSERT_EQ(merged.interfaces.size(), 3U);
    ASSERT_EQ(merged.ips.size(), 2U);
    EXPECT_EQ(merged.ips[0].address, "10.42.0.5/24");  // eth0's IPs first
    EXPECT_EQ(*merged.ips[0].interface, 1);
    EXPECT_EQ(merged.interfaces[static_cast<std::size_t>(*merged.ips[1].interface)].name, "net1");
    EXPECT_EQ(merged.routes.size(), 2U);
    EXPECT_EQ(merged.dns.nameservers, (std::vector<std::string>{"10.43.0.10", "9.9.9.9"}));
}

TEST(Merge, IndexlessIpsPointAtTheAttachmentsSandboxInterface) {
    const auto ipam_like =
        json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"198.51.100.7/24"}]})");
    const auto merged =
        merge_results({{"eth0", primary_result()}, {"net1", ipam_like}}, "/run/netns/p", "1.0.0");
    ASSERT_EQ(merged.interfaces.size(), 3U);
    EXPECT_EQ(merged.interfaces[2].name, "net1");
    EXPECT_EQ(merged.interfaces[2].sandbox, "/run/netns/p");
    EXPECT_EQ(*merged.ips[1].interface, 2);
}

TEST(Split, RecoversEachAttachment) {
    const auto merged = merge_results({{"eth0", primary_result()}, {"net1", secondary_result()}},
                                      "/run/netns/p", "1.0.0");
    const auto parts = split_result(merged, {"eth0", "net1"});
    ASSERT_EQ(parts.size(), 2U);
    EXPECT_EQ(parts[0].interfaces.size(), 2U);
    EXPECT_EQ(*parts[0].ips[0].interface, 1);
    ASSERT_EQ(parts[1].interfaces.size(), 1U);
    EXPECT_EQ(parts[1].interfaces[0].name, "net1");
    ASSERT_EQ(parts[1].ips.size(), 1U);
    EXPECT_EQ(*parts[1].ips[0].interface, 0);
    ASSERT_EQ(parts[1].routes.size(), 1U);
    EXPECT_EQ(parts[1].routes[0].dst, "203.0.113.0/24");
    EXPECT_EQ(parts[0].routes.size(), 1U);
}

}  // namespace
}  // namespace splitnet::verbs
