// The node agent's pure parts: `splitnet verify`'s checks over a netns snapshot, the
// bypassed-pod guard's decision over API objects, and the taint patch.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/agent/guard.hpp"
#include "splitnet/agent/taint.hpp"
#include "splitnet/agent/verify.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::agent {
namespace {

using egress::RouteEntry;
using egress::RouteKind;
using nlohmann::json;
using testutil::error_of;

RouteEntry route(const char* dst, const char* dev, const char* via = nullptr,
                 std::uint32_t metric = 0, RouteKind kind = RouteKind::Unicast,
                 std::uint32_t table = RouteEntry::kMainTable) {
    RouteEntry r;
    r.dst = *net::parse_cidr(dst);
    r.dev = dev;
    if (via != nullptr) {
        r.gateway = net::parse_ip(via);
    }
    r.priority = metric;
    r.kind = kind;
    r.table = table;
    return r;
}

RouteEntry guard_route(const char* dst) {
    return route(dst, "", nullptr, 11, RouteKind::Unreachable);
}

// What egress leaves in a pod (docs/egress.md "What ADD does"), IPv6 blocked.
NetnsSnapshot protected_pod() {
    NetnsSnapshot s;
    s.links = {{"lo", true}, {"eth0", true}, {"net1", true}};
    s.routes = {
        route("10.42.0.0/16", "eth0", "10.42.0.1"),
        route("10.42.0.1/32", "eth0"),
        route("192.168.99.0/24", "net1"),
        guard_route("0.0.0.0/0"),
        route("0.0.0.0/0", "net1", "192.168.99.1", 10),
        route("fd00:42::/64", "eth0", nullptr, 256),
        route("fe80::/64", "net1", nullptr, 256),
        guard_route("::/0"),
        route("127.0.0.0/8", "lo", nullptr, 0, RouteKind::Other, RouteEntry::kLocalTable),
        route("::1/128", "lo", nullptr, 0, RouteKind::Other, RouteEntry::kLocalTable),
    };
    return s;
}

std::string joined(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += p + "\n";
    }
    return out;
}

void erase_routes(NetnsSnapshot& s, const char* dst, RouteKind kind) {
    const auto target = *net::parse_cidr(dst);
    s.routes.erase(
        std::remove_if(s.routes.begin(), s.routes.end(),
                       [&](const RouteEntry& r) { return r.dst == target && r.kind == kind; }),
        s.routes.end());
}

TEST(Verify, TheEgressPolicyPasses) {
    EXPECT_EQ(joined(verify_problems({}, protected_pod())), "");
    VerifyOptions with_gateway;
    with_gateway.gateway = net::parse_ip("192.168.99.1");
    EXPECT_EQ(joined(verify_problems(with_gateway, protected_pod())), "");
}

TEST(Verify, AMissingVpnInterfaceIsNamed) {
    auto s = protected_pod();
    s.links.pop_back();
    erase_routes(s, "0.0.0.0/0", RouteKind::Unicast);
    const auto text = joined(verify_problems({}, s));
    EXPECT_NE(text.find("the VPN interface net1 is missing"), std::string::npos) << text;
    EXPECT_NE(text.find("no IPv4 default route via the VPN interface net1"), std::string::npos);

    VerifyOptions other;
    other.vpn_interface = "vpn0";
    EXPECT_NE(joined(verify_problems(other, protected_pod())).find("vpn0 is missing"),
              std::string::npos);
}

TEST(Verify, ADownVpnInterfaceIsNamed) {
    auto s = protected_pod();
    s.links.back().up = false;
    EXPECT_EQ(joined(verify_problems({}, s)), "the VPN interface net1 is down\n");
}

TEST(Verify, ADefaultViaEth0IsALeakInAnyTable) {
    for (const std::uint32_t table : {RouteEntry::kMainTable, 100U}) {
        auto s = protected_pod();
        s.routes.push_back(route("0.0.0.0/0", "eth0", "10.42.0.1", 50, RouteKind::Unicast, table));
        const auto text = joined(verify_problems({}, s));
        EXPECT_NE(text.find("default via 10.42.0.1 dev eth0"), std::string::npos) << text;
        EXPECT_NE(text.find("via the cluster interface eth0"), std::string::npos) << text;
    }
}

TEST(Verify, ASplitDefaultOrAnotherInterfaceIsALeak) {
    auto s = protected_pod();
    s.routes.push_back(route("0.0.0.0/1", "eth0", "10.42.0.1"));
    EXPECT_NE(joined(verify_problems({}, s)).find("0.0.0.0/1 via 10.42.0.1 dev eth0"),
              std::string::npos);
    s = protected_pod();
    s.links.push_back({"net2", true});
    s.routes.push_back(route("0.0.0.0/0", "net2", "172.30.0.1", 5));
    EXPECT_NE(joined(verify_problems({}, s)).find("out past the VPN interface net1"),
              std::string::npos);
}

TEST(Verify, TheKillSwitchMustBeThere) {
    auto s = protected_pod();
    erase_routes(s, "0.0.0.0/0", RouteKind::Unreachable);
    EXPECT_NE(joined(verify_problems({}, s)).find("the IPv4 kill switch is missing"),
              std::string::npos);
    s = protected_pod();
    erase_routes(s, "::/0", RouteKind::Unreachable);
    EXPECT_NE(joined(verify_problems({}, s)).find("the IPv6 kill switch is missing"),
              std::string::npos);
    // A blackhole works as well as an unreachable route; one in another table does not count.
    s = protected_pod();
    erase_routes(s, "0.0.0.0/0", RouteKind::Unreachable);
    s.routes.push_back(route("0.0.0.0/0", "", nullptr, 11, RouteKind::Blackhole));
    EXPECT_EQ(joined(verify_problems({}, s)), "");
    s = protected_pod();
    erase_routes(s, "0.0.0.0/0", RouteKind::Unreachable);
    s.routes.push_back(route("0.0.0.0/0", "", nullptr, 11, RouteKind::Unreachable, 100));
    EXPECT_NE(joined(verify_problems({}, s)).find("IPv4 kill switch"), std::string::npos);
}

TEST(Verify, TheWrongGatewayIsNamed) {
    VerifyOptions options;
    options.gateway = net::parse_ip("192.168.99.254");
    const auto text = joined(verify_problems(options, protected_pod()));
    EXPECT_NE(text.find("goes to 192.168.99.1, not to the VPN gateway 192.168.99.254"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("no IPv4 default route via the VPN interface net1 and gateway "
                        "192.168.99.254"),
              std::string::npos);
}

TEST(Verify, Ipv6AsConfigured) {
    // block: any v6 default is a problem, even via net1.
    auto s = protected_pod();
    s.routes.push_back(route("::/0", "net1", "2001:db8:99::1", 10));
    EXPECT_NE(joined(verify_problems({}, s))
                  .find("routes IPv6 to the outside, which is to be "
                        "blocked"),
              std::string::npos);
    s = protected_pod();
    s.routes.push_back(route("::/0", "eth0", "fd00:42::1", 1024));
    EXPECT_NE(joined(verify_problems({}, s))
                  .find("sends IPv6 traffic out via the cluster "
                        "interface eth0"),
              std::string::npos);
    // vpn: the v6 default must be via net1.
    VerifyOptions vpn;
    vpn.ipv6 = Ipv6Expectation::Vpn;
    EXPECT_NE(joined(verify_problems(vpn, protected_pod()))
                  .find("no IPv6 default route via the VPN interface net1"),
              std::string::npos);
    s = protected_pod();
    s.routes.push_back(route("::/0", "net1", "2001:db8:99::1", 10));
    EXPECT_EQ(joined(verify_problems(vpn, s)), "");
    // any: IPv6 is not looked at, even a default via eth0.
    VerifyOptions any;
    any.ipv6 = Ipv6Expectation::Any;
    s = protected_pod();
    erase_routes(s, "::/0", RouteKind::Unreachable);
    s.routes.push_back(route("::/0", "eth0", "fd00:42::1", 1024));
    EXPECT_EQ(joined(verify_problems(any, s)), "");
    // IPv6 off in the netns (no IPv6 route at all): nothing to block.
    s = protected_pod();
    s.routes.erase(std::remove_if(s.routes.begin(), s.routes.end(),
                                  [](const RouteEntry& r) { return !r.dst.is_v4(); }),
                   s.routes.end());
    EXPECT_EQ(joined(verify_problems({}, s)), "");
}

TEST(VerifyOptions, FlagsAndMistakes) {
    const auto o = parse_verify_options(
        {"--interface", "vpn0", "--primary-interface=eth1", "--gateway=192.0.2.1", "--ipv6=vpn"});
    EXPECT_EQ(o.vpn_interface, "vpn0");
    EXPECT_EQ(o.primary_interface, "eth1");
    ASSERT_TRUE(o.gateway);
    EXPECT_EQ(net::to_string(*o.gateway), "192.0.2.1");
    EXPECT_EQ(o.ipv6, Ipv6Expectation::Vpn);
    EXPECT_TRUE(parse_verify_options({"--help"}).help);
    const auto defaults = parse_verify_options({});
    EXPECT_EQ(defaults.vpn_interface, "net1");
    EXPECT_EQ(defaults.ipv6, Ipv6Expectation::Block);
    EXPECT_FALSE(defaults.gateway);

    const auto error = [](std::vector<std::string> args) {
        return error_of([&] { parse_verify_options(args); });
    };
    EXPECT_NE(error({"--bogus"}).find("--bogus: unknown flag"), std::string::npos);
    EXPECT_NE(error({"--interface"}).find("--interface: needs a value"), std::string::npos);
    EXPECT_NE(error({"--gateway=nope"}).find("\"nope\" is not an IP address"), std::string::npos);
    EXPECT_NE(error({"--ipv6=route"}).find("expected block, vpn or any"), std::string::npos);
    EXPECT_NE(error({"--interface=../x"}).find("not an interface name"), std::string::npos);
    EXPECT_NE(error({"net1"}).find("unexpected argument \"net1\""), std::string::npos);
}

// A pod as the API lists it: annotations requesting networks, Running, a running container.
json bypassed_candidate() {
    return json::parse(R"({
      "metadata": {"name": "vpn-app-0", "namespace": "media", "uid": "u-1",
                   "annotations": {"k8s.v1.cni.cncf.io/networks": "vpn"}},
      "spec": {"nodeName": "node-a"},
      "status": {"phase": "Running",
                 "containerStatuses": [{"name": "app", "state": {"running": {}}}]}})");
}

TEST(Guard, ARunningPodWithoutNetworkStatusWasBypassed) {
    const auto found = bypassed_pod(bypassed_candidate());
    ASSERT_TRUE(found);
    EXPECT_EQ(found->pod.namespace_, "media");
    EXPECT_EQ(found->pod.name, "vpn-app-0");
    EXPECT_EQ(found->pod.uid, "u-1");
    EXPECT_EQ(found->requested, "vpn");
}

TEST(Guard, PodsThatAreLeftAlone) {
    const auto with = [](const char* pointer, json value) {
        auto pod = bypassed_candidate();
        pod[json::json_pointer(pointer)] = std::move(value);
        return pod;
    };
    const std::vector<std::pair<const char*, json>> cases = {
        // no networks requested
        {"/metadata/annotations/k8s.v1.cni.cncf.io~1networks", " "},
        // splitnet wrote network-status with the secondary
        {"/metadata/annotations/k8s.v1.cni.cncf.io~1network-status",
         R"([{"name":"cilium","interface":"eth0","default":true},{"name":"media/vpn","interface":"net1"}])"},
        // unreadable network-status: somebody wrote it, not ours to judge
        {"/metadata/annotations/k8s.v1.cni.cncf.io~1network-status", "[{"},
        // still starting: the ADD may be running
        {"/status/phase", "Pending"},
        // a sandbox being recreated: no container runs
        {"/status/containerStatuses/0/state", {{"waiting", json::object()}}},
        {"/spec/hostNetwork", true},
        // a static pod's mirror: deleting it changes nothing on the node
        {"/metadata/annotations/kubernetes.io~1config.mirror", "hash"},
        {"/metadata/deletionTimestamp", "2026-12-04T10:00:00Z"},
        // a name that cannot go into a REST path
        {"/metadata/name", "../nodes/x"},
        {"/metadata/uid", ""},
    };
    for (const auto& [pointer, value] : cases) {
        EXPECT_FALSE(bypassed_pod(with(pointer, value))) << pointer << " = " << value.dump();
    }
    // Only a default entry (the primary) in network-status: the secondaries were not set up.
    EXPECT_TRUE(bypassed_pod(with("/metadata/annotations/k8s.v1.cni.cncf.io~1network-status",
                                  R"([{"name":"cilium","interface":"eth0","default":true}])")));
    // A running init container (splitnet verify, say) also means the sandbox is complete.
    auto init_running = with("/status/containerStatuses/0/state", {{"waiting", json::object()}});
    init_running["status"]["initContainerStatuses"] =
        json::parse(R"([{"name":"verify","state":{"running":{}}}])");
    EXPECT_TRUE(bypassed_pod(init_running));
}

TEST(Guard, ListPagesAndPaths) {
    json list = {{"kind", "PodList"},
                 {"metadata", {{"continue", "a b/c="}}},
                 {"items", {bypassed_candidate(), json::object(), bypassed_candidate()}}};
    list["items"][2]["status"]["phase"] = "Succeeded";
    const auto found = bypassed_pods(list);
    ASSERT_EQ(found.size(), 1U);
    EXPECT_EQ(continue_token(list), "a b/c=");
    EXPECT_TRUE(bypassed_pods(json::array({bypassed_candidate()})).empty());
    EXPECT_EQ(node_pods_path("node-a", ""),
              "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&limit=100");
    EXPECT_EQ(node_pods_path("node-a", "a b/c="),
              "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&limit=100&continue=a%20b%2Fc%3D");
    EXPECT_EQ(delete_options("u-1"), json::parse(R"({"kind":"DeleteOptions","apiVersion":"v1",
                              "preconditions":{"uid":"u-1"}})"));
}

TEST(Taint, OnlyTheKeyIsRemovedEachAfterATest) {
    const auto node = json::parse(R"({"spec": {"taints": [
        {"key": "splitnet.io/agent-not-ready", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "splitnet.io/agent-not-ready", "effect": "NoExecute"}]}})");
    const auto patch = remove_taint_patch(node, "splitnet.io/agent-not-ready");
    ASSERT_TRUE(patch);
    EXPECT_EQ(*patch, json::parse(R"([
        {"op": "test", "path": "/spec/taints/2",
         "value": {"key": "splitnet.io/agent-not-ready", "effect": "NoExecute"}},
        {"op": "remove", "path": "/spec/taints/2"},
        {"op": "test", "path": "/spec/taints/0",
         "value": {"key": "splitnet.io/agent-not-ready", "effect": "NoSchedule"}},
        {"op": "remove", "path": "/spec/taints/0"}])"));
    EXPECT_FALSE(remove_taint_patch(node, "other"));
    EXPECT_FALSE(remove_taint_patch(json::parse(R"({"spec": {}})"), "other"));
    EXPECT_FALSE(remove_taint_patch(json::array(), "x"));
    EXPECT_EQ(node_path("node-a"), "/api/v1/nodes/node-a");
}

}  // namespace
}  // namespace splitnet::agent
