#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/cni/error.hpp"

namespace splitnet::attach {
namespace {

using nlohmann::json;

std::string conf_with(const std::string& version, const json& ipam, const json& extra = {}) {
    json doc = {{"cniVersion", version}, {"name", "net"}, {"type", "macvlan"}, {"ipam", ipam}};
    if (extra.is_object()) {
        doc.update(extra);
    }
    return doc.dump();
}

std::vector<std::string> addresses(const cni::Result& r) {
    std::vector<std::string> out;
    for (const auto& ip : r.ips) {
        out.push_back(ip.address + (ip.gateway.empty() ? "" : " gw " + ip.gateway));
    }
    return out;
}

constexpr std::array<const char*, 5> kVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

struct PrecedenceCase {
    const char* name;
    json ipam;
    json extra;
    const char* cni_args;
    std::vector<std::string> want;
};

TEST(StaticIpam, AddressPrecedenceAllVersions) {
    const json base = {{"type", "static"},
                       {"addresses",
                        {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}},
                         {{"address", "3ffe:ffff:0:01ff::1/64"}, {"gateway", "3ffe:ffff:0::1"}}}}};
    const std::vector<PrecedenceCase> cases = {
        {"config only",
         base,
         {},
         "",
         {"10.10.0.1/24 gw 10.10.0.254", "3ffe:ffff:0:1ff::1/64 gw 3ffe:ffff::1"}},
        {"CNI_ARGS IP appended, GATEWAY to args addresses only",
         base,
         {},
         "IP=10.10.0.2/24, 192.0.2.5/24;GATEWAY=10.10.0.99,192.0.2.1",
         {"10.10.0.1/24 gw 10.10.0.254", "3ffe:ffff:0:1ff::1/64 gw 3ffe:ffff::1",
          "10.10.0.2/24 gw 10.10.0.99", "192.0.2.5/24 gw 192.0.2.1"}},
        {"GATEWAY outside every subnet ignored",
         base,
         {},
         "IP=192.0.2.5/24;GATEWAY=198.51.100.1",
         {"10.10.0.1/24 gw 10.10.0.254", "3ffe:ffff:0:1ff::1/64 gw 3ffe:ffff::1", "192.0.2.5/24"}},
        {"args.cni.ips replace config and CNI_ARGS",
         base,
         {{"args", {{"cni", {{"ips", {"192.0.2.7/24"}}}}}}},
         "IP=10.10.0.2/24",
         {"192.0.2.7/24"}},
        {"runtimeConfig.ips replace everything",
         base,
         {{"args", {{"cni", {{"ips", {"192.0.2.7/24"}}}}}},
          {"runtimeConfig", {{"ips", {"198.51.100.9/24", "2001:db8::9/64"}}}}},
         "IP=10.10.0.2/24",
         {"198.51.100.9/24", "2001:db8::9/64"}},
        {"empty runtimeConfig.ips does not replace",
         base,
         {{"runtimeConfig", {{"ips", json::array()}}}},
         "",
         {"10.10.0.1/24 gw 10.10.0.254", "3ffe:ffff:0:1ff::1/64 gw 3ffe:ffff::1"}},
        {"no addresses at all", {{"type", "static"}}, {}, "", {}},
        {"IgnoreUnknown lets MAC through",
         {{"type", "static"}},
         {},
         "IgnoreUnknown=1;MAC=02:00:00:00:00:01;IP=192.0.2.3/24",
         {"192.0.2.3/24"}},
    };
    for (const auto& version : kVersions) {
        for (const auto& c : cases) {
            const auto result = static_ipam_add(conf_with(version, c.ipam, c.extra), c.cni_args);
            EXPECT_EQ(addresses(result), c.want) << c.name << " @" << version;
            EXPECT_EQ(result.cni_version, version);
            for (const auto& ip : result.ips) {
                EXPECT_FALSE(ip.interface) << "static returns no interface index";
            }
        }
    }
}

TEST(StaticIpam, RoutesAndDnsAsConfigured) {
    const json ipam = {
        {"type", "static"},
        {"addresses", {{{"address", "198.51.100.10/24"}}}},
        {"routes",
         {{{"dst", "203.0.113.0/24"}},
          {{"dst", "10.99.0.5/16"}, {"gw", "198.51.100.254"}, {"priority", 50}, {"table", 100}}}},
        {"dns", {{"nameservers", {"192.0.2.53"}}, {"search", {"example.org"}}}}};
    const auto r = static_ipam_add(conf_with("1.0.0", ipam), "");
    ASSERT_EQ(r.routes.size(), 2U);
    EXPECT_EQ(r.routes[0].dst, "203.0.113.0/24");
    EXPECT_EQ(r.routes[0].gw, "");
    EXPECT_EQ(r.routes[1].dst, "10.99.0.5/16");  // host bits kept, as Go's types.IPNet
    EXPECT_EQ(r.routes[1].gw, "198.51.100.254");
    EXPECT_EQ(r.routes[1].priority, 50);
    EXPECT_EQ(r.routes[1].table, 100);
    EXPECT_EQ(r.dns.nameservers, std::vector<std::string>{"192.0.2.53"});
    EXPECT_EQ(r.dns.search, std::vector<std::string>{"example.org"});
}

struct ErrorCase {
    const char* name;
    std::string version;
    json ipam;
    json extra;
    const char* cni_args;
    const char* message;
};

TEST(StaticIpam, ExactErrors) {
    const json ok = {{"type", "static"}, {"addresses", {{{"address", "10.10.0.1/24"}}}}};
    const std::vector<ErrorCase> cases = {
        {"CNI_ARGS IP not CIDR",
         "1.0.0",
         ok,
         {},
         "IP=10.10.0.5",
         "the 'ip' field is expected to be in CIDR notation, got: '10.10.0.5'"},
        {"CNI_ARGS IP trimmed in message",
         "1.0.0",
         ok,
         {},
         "IP=10.10.0.5/24, zz",
         "the 'ip' field is expected to be in CIDR notation, got: 'zz'"},
        {"bad GATEWAY", "1.0.0", ok, {}, "GATEWAY=zzz", "invalid gateway address: zzz"},
        {"runtimeConfig ips not CIDR",
         "1.0.0",
         ok,
         {{"runtimeConfig", {{"ips", {"10.1.1.1"}}}}},
         "",
         "an entry in the 'ips' field is NOT in CIDR notation, got: '10.1.1.1'"},
        {"args ips not CIDR",
         "1.0.0",
         ok,
         {{"args", {{"cni", {{"ips", {"bad"}}}}}}},
         "",
         "an entry in the 'ips' field is NOT in CIDR notation, got: 'bad'"},
        {"config address not CIDR",
         "1.0.0",
         {{"type", "static"}, {"addresses", {{{"address", "10.10.0.1"}}}}},
         {},
         "",
         "the 'address' field is expected to be in CIDR notation, got: '10.10.0.1'"},
        {"config gateway not an IP",
         "1.0.0",
         {{"type", "static"}, {"addresses", {{{"address", "10.10.0.1/24"}, {"gateway", "bogus"}}}}},
         {},
         "",
         "invalid IP address: bogus"},
        {"two v4 with 0.2.0",
         "0.2.0",
         {{"type", "static"},
          {"addresses", {{{"address", "10.10.0.1/24"}}, {{"address", "10.10.1.1/24"}}}}},
         {},
         "",
         "CNI version 0.2.0 does not support more than 1 address per family"},
        {"unknown CNI_ARGS", "1.0.0", ok, {}, "MAC=02:00:00:00:00:01", "ARGS: unknown args"},
        {"invalid pair", "1.0.0", ok, {}, "IP", "ARGS: invalid pair"},
    };
    for (const auto& c : cases) {
        try {
            static_ipam_add(conf_with(c.version, c.ipam, c.extra), c.cni_args);
            ADD_FAILURE() << c.name << ": no error";
        } catch (const cni::Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind(c.message, 0), 0U)
                << c.name << ": got '" << e.what() << "'";
        }
    }
    // One address per family is fine at 0.2.0.
    EXPECT_NO_THROW(static_ipam_add(
        conf_with("0.2.0", {{"type", "static"},
                            {"addresses",
                             {{{"address", "10.10.0.1/24"}}, {{"address", "2001:db8::1/64"}}}}}),
        ""));
    EXPECT_THROW(static_ipam_add(json{{"cniVersion", "1.0.0"}, {"name", "n"}}.dump(), ""),
                 cni::Error);
}

TEST(StaticIpam, CheckMatchesGateways) {
    const json ipam = {{"type", "static"},
                       {"addresses", {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}}}};
    const json good = {{"cniVersion", "1.0.0"},
                       {"ips", {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.254"}}}}};
    const json bad = {{"cniVersion", "1.0.0"},
                      {"ips", {{{"address", "10.10.0.1/24"}, {"gateway", "10.10.0.253"}}}}};
    EXPECT_NO_THROW(
        static_ipam_check(conf_with("1.0.0", ipam, {{"prevResult", good}}), "", "net1"));
    try {
        static_ipam_check(conf_with("1.0.0", ipam, {{"prevResult", bad}}), "", "net1");
        ADD_FAILURE();
    } catch (const cni::Error& e) {
        EXPECT_STREQ(e.what(), "static: Failed to match addr 10.10.0.1 on interface net1");
    }
    try {
        static_ipam_check(conf_with("1.0.0", ipam), "", "net1");
        ADD_FAILURE();
    } catch (const cni::Error& e) {
        EXPECT_STREQ(e.what(), "Required prevResult missing");
    }
}

}  // namespace
}  // namespace splitnet::attach
