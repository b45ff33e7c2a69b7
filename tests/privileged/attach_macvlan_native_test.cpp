// The native macvlan path on its own: failure injection (nothing left behind, a retried ADD
// succeeds), DEL idempotence, CHECK, STATUS, exec'd IPAM, and dual-stack without DAD waits.

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "attach_helpers.hpp"
#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::attach {
namespace {

using nlohmann::json;
using namespace splitnet::attach::testing;

class MacvlanNativeTest : public testutil::NetnsFixture {
protected:
    static json conf(const json& extra = json::object()) {
        json c = {{"cniVersion", "1.0.0"},
                  {"name", "nativenet"},
                  {"type", "macvlan"},
                  {"master", kMaster},
                  {"ipam",
                   {{"type", "static"},
                    {"addresses", {{{"address", "198.51.100.10/24"}, {"gateway", "198.51.100.1"}}}},
                    {"routes", {{{"dst", "203.0.113.0/24"}}}}}}};
        c.update(extra);
        return c;
    }

    std::string add(const json& c, const std::string& args = "") {
        return native_.invoke(make_call(cni::Verb::Add, c, pod_path(), args, {dir_.path()}));
    }

    std::string add_error(const json& c, const std::string& args = "") {
        return error_of([&] { add(c, args); });
    }

    void del(const json& c, const std::string& netns) {
        native_.invoke(make_call(cni::Verb::Del, c, netns, "", {dir_.path()}));
    }

    void check(const json& c) {
        native_.invoke(make_call(cni::Verb::Check, c, pod_path(), "", {dir_.path()}));
    }

    /// Only lo in the pod: nothing leaked.
    void expect_pod_clean() const {
        EXPECT_EQ(link_names(pod_path()), std::vector<std::string>{"lo"});
    }

    /// A fake IPAM plugin `name` in the CNI_PATH dir; every call appends its verb to the log.
    std::string write_fake_ipam(const std::string& name, const std::string& add_body) const {
        const auto path = dir_.path() + "/" + name;
        auto log = dir_.path() + "/" + name + ".log";
        std::ofstream(path) << "#!/bin/sh\n"
                            << "cat >/dev/null\n"
                            << "echo \"$CNI_COMMAND\" >>" << log << "\n"
                            << "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
                            << add_body << "\nfi\nexit 0\n";
        ::chmod(path.c_str(), 0755);
        return log;
    }

    static std::string read_file(const std::string& path) {
        std::ifstream in(path);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    testutil::ScratchDir dir_;  // CNI_PATH: holds no macvlan/static binary
    delegate::ExecInvoker exec_;
    NativeInvoker native_{exec_};
};

TEST_F(MacvlanNativeTest, BadRouteGatewayLeavesNothingAndRetrySucceeds) {
    auto bad = conf();
    bad["ipam"]["routes"] = {{{"dst", "203.0.113.0/24"}, {"gw", "192.0.2.99"}}};
    EXPECT_EQ(add_error(bad),
              "failed to add route '203.0.113.0/24 via 192.0.2.99 dev net1': network is "
              "unreachable");
    expect_pod_clean();
    EXPECT_EQ(add_error(conf()), "");
    EXPECT_EQ(link_names(pod_path()), (std::vector<std::string>{"lo", "net1"}));
}

TEST_F(MacvlanNativeTest, AddressConflictLeavesNothingAndRetrySucceeds) {
    auto dup = conf();
    dup["ipam"]["addresses"] = {{{"address", "198.51.100.10/24"}},
                                {{"address", "198.51.100.10/24"}}};
    EXPECT_EQ(add_error(dup), "failed to add IP addr 198.51.100.10/24 to \"net1\": file exists");
    expect_pod_clean();
    EXPECT_EQ(add_error(conf()), "");
}

TEST_F(MacvlanNativeTest, ExistingInterfaceNameIsUntouched) {
    // A veth named net1 already in the pod.
    util::UniqueFd other;
    const auto other_path = make_extra_netns(other);
    net::Netlink pod(pod_fd());
    testutil::create_veth(pod, "net1", "peer1", other.get());
    const auto before = net::get_link(pod, "net1");
    EXPECT_EQ(add_error(conf()), "failed to rename macvlan to \"net1\": file exists");
    const auto after = net::get_link(pod, "net1");
    EXPECT_EQ(after.index, before.index);
    EXPECT_EQ(after.kind, "veth");
    EXPECT_TRUE(net::list_addresses(pod, after.index, net::Family::V4).empty());
    EXPECT_EQ(link_names(pod_path()), (std::vector<std::string>{"lo", "net1"}));
    (void)other_path;
}

TEST_F(MacvlanNativeTest, MissingMasterAndLargeMtuFailBeforeCreating) {
    EXPECT_EQ(add_error(conf({{"master", "nope0"}})),
              "failed to lookup master \"nope0\": Link not found");
    expect_pod_clean();
    EXPECT_EQ(add_error(conf({{"mtu", 9000}})), "invalid MTU 9000, must be [0, master MTU(1500)]");
    expect_pod_clean();
    auto no_master = conf();
    no_master.erase("master");
    EXPECT_EQ(add_error(no_master), "no default route interface found");
    expect_pod_clean();
    add_node_default_route();
    EXPECT_EQ(add_error(no_master), "");
}

TEST_F(MacvlanNativeTest, ZeroAddressesAndConversionFailuresLeaveNothing) {
    auto none = conf();
    none["ipam"].erase("addresses");
    EXPECT_EQ(add_error(none), "IPAM plugin returned missing IP config");
    expect_pod_clean();
    // L2-only cannot be expressed in 0.2.0: the reference leaks the link here.
    json l2 = conf({{"cniVersion", "0.2.0"}});
    l2.erase("ipam");
    EXPECT_NE(add_error(l2), "");
    expect_pod_clean();
    EXPECT_EQ(add_error(conf({{"mode", "source"}})), "unknown macvlan mode: \"source\"");
    expect_pod_clean();
}

TEST_F(MacvlanNativeTest, ExecdIpamIsDeletedWhenConfigurationFails) {
    const auto log = write_fake_ipam(
        "fake-ipam", R"(echo '{"cniVersion":"1.0.0","ips":[{"address":"198.51.100.30/24",)"
                     R"("gateway":"198.51.100.1"}],"routes":[{"dst":"203.0.113.0/24",)"
                     R"("gw":"192.0.2.99"}]}')");
    const auto c = conf({{"ipam", {{"type", "fake-ipam"}}}});
    EXPECT_NE(add_error(c).find("network is unreachable"), std::string::npos);
    expect_pod_clean();
    EXPECT_EQ(read_file(log), "ADD\nDEL\n");
}

TEST_F(MacvlanNativeTest, ExecdIpamFailureRemovesLink) {
    const auto log =
        write_fake_ipam("fake-ipam", R"(echo '{"code":11,"msg":"pool exhausted"}'; exit 1)");
    const auto c = conf({{"ipam", {{"type", "fake-ipam"}}}});
    std::string message;
    try {
        add(c);
    } catch (const cni::Error& e) {
        message = e.what();
        EXPECT_EQ(e.code(), 11U);  // the IPAM plugin's own error passes through
    }
    EXPECT_EQ(message, "pool exhausted");
    expect_pod_clean();
}

TEST_F(MacvlanNativeTest, ExecdIpamResultIsApplied) {
    const auto log = write_fake_ipam(
        "fake-ipam", R"(echo '{"cniVersion":"1.0.0","ips":[{"address":"198.51.100.30/24",)"
                     R"("gateway":"198.51.100.1"}],"routes":[{"dst":"203.0.113.0/24"}]}')");
    const auto c = conf({{"ipam", {{"type", "fake-ipam"}}}});
    const auto result = json::parse(add(c));
    EXPECT_EQ(result["ips"][0]["address"], "198.51.100.30/24");
    EXPECT_EQ(result["ips"][0]["interface"], 0);
    const auto routes = ip_json(pod_path(), "-4 route show 203.0.113.0/24");
    ASSERT_EQ(routes.size(), 1U);
    EXPECT_EQ(routes[0].value("gateway", ""), "198.51.100.1");
    del(c, pod_path());
    EXPECT_EQ(read_file(log), "ADD\nDEL\n");
    expect_pod_clean();
}

TEST_F(MacvlanNativeTest, DualStackAddDoesNotWaitForDad) {
    auto c = conf();
    c["ipam"]["addresses"] = {{{"address", "198.51.100.10/24"}, {"gateway", "198.51.100.1"}},
                              {{"address", "2001:db8::10/64"}, {"gateway", "2001:db8::1"}}};
    c["ipam"]["routes"] = {{{"dst", "::/0"}}, {{"dst", "0.0.0.0/0"}}};
    const auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(add_error(c), "");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::milliseconds(500));
    EXPECT_EQ(run_in(pod_path(), "cat /proc/sys/net/ipv6/conf/net1/accept_dad"), "0\n");
    net::Netlink pod(pod_fd());
    const auto link = net::get_link(pod, "net1");
    const auto addrs = net::list_addresses(pod, link.index, net::Family::V6);
    EXPECT_GE(addrs.size(), 2U);  // ours and the link-local one
    for (const auto& a : addrs) {
        EXPECT_FALSE(a.tentative()) << net::to_string(a.local);
    }
    const auto v6default = ip_json(pod_path(), "-6 route show default");
    ASSERT_EQ(v6default.size(), 1U);
    EXPECT_EQ(v6default[0].value("gateway", ""), "2001:db8::1");
    EXPECT_EQ(run_in(pod_path(), "cat /proc/sys/net/ipv4/conf/net1/arp_notify"), "1\n");
    EXPECT_EQ(run_in(pod_path(), "cat /proc/sys/net/ipv6/conf/net1/ndisc_notify"), "1\n");
}

TEST_F(MacvlanNativeTest, Ipv4OnlyTurnsOffRaAndAutoconf) {
    ASSERT_EQ(add_error(conf()), "");
    EXPECT_EQ(run_in(pod_path(), "cat /proc/sys/net/ipv6/conf/net1/accept_ra"), "0\n");
    EXPECT_EQ(run_in(pod_path(), "cat /proc/sys/net/ipv6/conf/net1/autoconf"), "0\n");
}

TEST_F(MacvlanNativeTest, DelIsIdempotentAndNeedsNoHostState) {
    const auto c = conf();
    ASSERT_EQ(add_error(c), "");
    EXPECT_EQ(error_of([&] { del(c, pod_path()); }), "");
    expect_pod_clean();
    EXPECT_EQ(error_of([&] { del(c, pod_path()); }), "");                     // twice
    EXPECT_EQ(error_of([&] { del(c, ""); }), "");                             // no netns
    EXPECT_EQ(error_of([&] { del(c, "/run/splitnet-no-such-netns"); }), "");  // netns gone
    // Master gone, and a config DEL cannot even parse for ADD: DEL still works.
    ASSERT_EQ(add_error(c), "");
    net::Netlink node;
    net::delete_link(node, kMaster);
    auto odd = c;
    odd["mode"] = "nonsense";
    EXPECT_EQ(error_of([&] { del(odd, pod_path()); }), "");
    expect_pod_clean();
}

TEST_F(MacvlanNativeTest, CheckAfterAddAndItsFailures) {
    auto c = conf();
    c["ipam"]["routes"] = {{{"dst", "203.0.113.0/24"}},
                           {{"dst", "0.0.0.0/0"}, {"gw", "198.51.100.1"}, {"table", 100}}};
    const auto result = json::parse(add(c));
    auto with_prev = c;
    with_prev["prevResult"] = result;
    EXPECT_EQ(error_of([&] { check(with_prev); }), "");

    EXPECT_EQ(error_of([&] { check(c); }), "Required prevResult missing");  // static's, first
    auto l2 = c;
    l2.erase("ipam");
    EXPECT_EQ(error_of([&] { check(l2); }), "required prevResult missing");

    auto other_mode = with_prev;
    other_mode["mode"] = "vepa";
    EXPECT_EQ(error_of([&] { check(other_mode); }),
              "container macvlan mode bridge does not match expected value: vepa");

    auto other_mac = with_prev;
    other_mac["prevResult"]["interfaces"][0]["mac"] = "02:00:00:00:00:99";
    EXPECT_NE(error_of([&] { check(other_mac); }).find("doesn't match container Mac"),
              std::string::npos);

    auto other_sandbox = with_prev;
    other_sandbox["prevResult"]["interfaces"][0]["sandbox"] = "/var/run/netns/other";
    EXPECT_NE(error_of([&] { check(other_sandbox); }).find("doesn't match configured netns"),
              std::string::npos);

    // The route in table 100 is looked up there; once gone, CHECK fails.
    run_in(pod_path(), "ip route del default table 100");
    EXPECT_NE(error_of([&] { check(with_prev); }).find("not found in routing table 100"),
              std::string::npos);

    run_in(pod_path(), "ip addr del 198.51.100.10/24 dev net1");
    EXPECT_NE(error_of([&] { check(with_prev); }).find("Failed to match addr 198.51.100.10/24"),
              std::string::npos);

    del(c, pod_path());
    EXPECT_NE(error_of([&] { check(with_prev); }).find("not found"), std::string::npos);
}

TEST_F(MacvlanNativeTest, LinkInContainerUsesAMasterInsideThePod) {
    // The master is a veth inside the pod netns; the node has none of that name.
    util::UniqueFd other;
    make_extra_netns(other);
    net::Netlink pod(pod_fd());
    testutil::create_veth(pod, "pm0", "pm0p", other.get());
    net::set_link_up(pod, net::get_link(pod, "pm0").index);
    auto c = conf({{"master", "pm0"}, {"linkInContainer", true}});
    ASSERT_EQ(add_error(c), "");
    const auto link = net::get_link(pod, "net1");
    EXPECT_EQ(link.kind, "macvlan");
    EXPECT_EQ(link.parent_index, net::get_link(pod, "pm0").index);
    del(c, pod_path());
    EXPECT_FALSE(net::find_link(pod, "net1"));
    // Without linkInContainer the node netns is searched: no pm0 there.
    EXPECT_EQ(add_error(conf({{"master", "pm0"}})),
              "failed to lookup master \"pm0\": Link not found");
}

TEST_F(MacvlanNativeTest, StatusReportsMissingMaster) {
    auto c = conf({{"cniVersion", "1.1.0"}});
    auto status = [&] { native_.invoke(make_call(cni::Verb::Status, c, "", "", {dir_.path()})); };
    EXPECT_EQ(error_of(status), "");
    net::Netlink node;
    net::delete_link(node, kMaster);
    try {
        status();
        ADD_FAILURE() << "STATUS must fail without master";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), 50U);
    }
}

}  // namespace
}  // namespace splitnet::attach
