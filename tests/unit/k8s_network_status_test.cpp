#include <gtest/gtest.h>

#include "splitnet/k8s/network_status.hpp"

namespace splitnet::k8s {
namespace {

using nlohmann::json;

// Multus' network-status example: a flannel-like primary (one sandbox interface, gateway route) and
// a macvlan NAD on net1. Compared byte for byte, which checks every field, the key order, the
// 4-space MarshalIndent layout, bare IPs, "dns": {} and the omitted empty fields.
TEST(NetworkStatus, MatchesMultusExampleByteForByte) {
    const std::vector<AttachmentStatus> attachments = {
        {"cni0", "eth0", true, json::parse(R"({"cniVersion":"0.3.1",
            "interfaces":[{"name":"eth0","mac":"fa:40:e1:44:b0:3b","sandbox":"/var/run/netns/x"}],
            "ips":[{"version":"4","address":"10.233.129.18/24","gateway":"10.233.129.1","interface":0}],
            "routes":[{"dst":"0.0.0.0/0","gw":"10.233.129.1"}],"dns":{}})")},
        {"cluster1/macvlan-network-1", "net1", false, json::parse(R"({"cniVersion":"1.0.0",
            "interfaces":[{"name":"net1","mac":"42:44:59:7f:14:1c","sandbox":"/var/run/netns/x"}],
            "ips":[{"address":"192.168.210.5/24","interface":0}]})")},
    };
    const std::string expected = R"([{
    "name": "cni0",
    "interface": "eth0",
    "ips": [
        "10.233.129.18"
    ],
    "mac": "fa:40:e1:44:b0:3b",
    "default": true,
    "dns": {},
    "gateway": [
        "10.233.129.1"
    ]
},{
    "name": "cluster1/macvlan-network-1",
    "interface": "net1",
    "ips": [
        "192.168.210.5"
    ],
    "mac": "42:44:59:7f:14:1c",
    "dns": {}
}])";
    EXPECT_EQ(network_status_value(attachments), expected);
    // And it is the JSON a consumer reads field by field.
    const auto parsed = json::parse(network_status_value(attachments));
    EXPECT_EQ(parsed[0]["gateway"][0], "10.233.129.1");
    EXPECT_FALSE(parsed[1].contains("default"));
}

TEST(NetworkStatus, CiliumResultGivesOneDefaultEth0Entry) {
    // Host-side lxc interface first, sandbox eth0 second, ip indexed to 1, MTU and DNS present.
    const auto result = json::parse(R"({"cniVersion":"0.3.1",
        "interfaces":[{"name":"lxc1234","mac":"aa:aa:aa:aa:aa:aa"},
                      {"name":"eth0","mac":"bb:bb:bb:bb:bb:bb","mtu":1450,"sandbox":"/proc/1/ns/net"}],
        "ips":[{"version":"4","address":"10.0.1.5/32","gateway":"10.0.1.1","interface":1},
               {"version":"6","address":"2001:db8:0:0::5/128","interface":1}],
        "dns":{"nameservers":["10.96.0.10"],"search":["svc.cluster.local"]}})");
    const std::string expected = R"([{
    "name": "cilium",
    "interface": "eth0",
    "ips": [
        "10.0.1.5",
        "2001:db8::5"
    ],
    "mac": "bb:bb:bb:bb:bb:bb",
    "mtu": 1450,
    "default": true,
    "dns": {
        "nameservers": [
            "10.96.0.10"
        ],
        "search": [
            "svc.cluster.local"
        ]
    }
}])";
    EXPECT_EQ(network_status_value({{"cilium", "eth0", true, result}}), expected);
}

TEST(NetworkStatus, MultiInterfaceResultOneEntryPerSandboxInterface) {
    const auto result = json::parse(R"({"cniVersion":"1.0.0",
        "interfaces":[{"name":"br0"},{"name":"net1","sandbox":"/ns"},{"name":"net2","sandbox":"/ns"}],
        "ips":[{"address":"192.0.2.2/24","interface":1},{"address":"198.51.100.2/24"}],
        "routes":[{"dst":"0.0.0.0/0"}]})");
    const auto value = json::parse(network_status_value({{"ns/x", "net1", false, result}}));
    ASSERT_EQ(value.size(), 2U);
    EXPECT_EQ(value[0]["interface"], "net1");
    EXPECT_EQ(value[0]["ips"], json::parse(R"(["192.0.2.2"])"));
    EXPECT_EQ(value[1]["ips"], json::parse(R"(["198.51.100.2"])"));  // index-less -> last entry
    // A default route without gw prints Go's nil IP, HTML-escaped.
    EXPECT_NE(network_status_value({{"ns/x", "net1", false, result}}).find(R"("\u003cnil\u003e")"),
              std::string::npos);
}

TEST(NetworkStatus, ResultsWithoutEntries) {
    // 0.2.0 results have no interfaces: no entry at all; "[]" when nothing is left.
    const auto legacy = json::parse(R"({"cniVersion":"0.2.0","ip4":{"ip":"192.0.2.9/24"}})");
    EXPECT_EQ(network_status_value({{"old", "eth0", true, legacy}}), "[]");
    EXPECT_EQ(network_status_value({}), "[]");
}

TEST(NetworkStatus, GoHtmlEscapingOfNames) {
    const auto result = json::parse(R"({"interfaces":[{"name":"net1","sandbox":"/ns"}],"ips":[]})");
    const auto value = network_status_value({{"a<b>&c", "net1", false, result}});
    EXPECT_NE(value.find(R"("name": "a\u003cb\u003e\u0026c")"), std::string::npos) << value;
}

TEST(NetworkStatus, BadResultIsAnError) {
    EXPECT_ANY_THROW(network_status_value(
        {{"x", "net1", false, json::parse(R"({"ips":[{"address":"nope"}],"interfaces":[]})")}}));
}

}  // namespace
}  // namespace splitnet::k8s
