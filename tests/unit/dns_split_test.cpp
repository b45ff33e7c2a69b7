// egress.dns (untrusted NAD input) and the DNS split's question parser.

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "splitnet/agent/dns_message.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/egress/config.hpp"
#include "testutil/dns_query.hpp"

namespace splitnet {
namespace {

using nlohmann::json;

std::string dns_error(const json& dns, const char* ipv6 = "block") {
    try {
        egress::parse_egress_config(json{{"egress", {{"dns", dns}, {"ipv6", ipv6}}}});
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), static_cast<unsigned>(cni::ErrorCode::InvalidNetworkConfig));
        return e.msg();
    }
    return "no error";
}

TEST(DnsSplitConfig, ServersAndDomain) {
    const auto conf = egress::parse_egress_config(json{
        {"egress",
         {{"dns", {{"servers", {"192.0.2.53", "198.51.100.53"}}, {"clusterDomain", "K8s.Lan"}}}}}});
    ASSERT_TRUE(conf && conf->dns);
    ASSERT_EQ(conf->dns->servers.size(), 2U);
    EXPECT_EQ(net::to_string(conf->dns->servers[1]), "198.51.100.53");
    EXPECT_EQ(conf->dns->cluster_domain, "k8s.lan");
    const auto plain =
        egress::parse_egress_config(json{{"egress", {{"dns", {{"servers", {"192.0.2.53"}}}}}}});
    EXPECT_EQ(plain->dns->cluster_domain, "cluster.local");
    EXPECT_FALSE(egress::parse_egress_config(json{{"egress", json::object()}})->dns);
}

TEST(DnsSplitConfig, RejectsAnythingButAddressesAndNames) {
    EXPECT_NE(dns_error("192.0.2.53").find("must be an object"), std::string::npos);
    EXPECT_NE(dns_error(json::object()).find("egress.dns.servers"), std::string::npos);
    EXPECT_NE(dns_error({{"servers", json::array()}}).find("1 to 3"), std::string::npos);
    EXPECT_NE(dns_error({{"servers", {"1.1.1.1", "1.0.0.1", "9.9.9.9", "8.8.8.8"}}}).find("1 to 3"),
              std::string::npos);
    EXPECT_NE(dns_error({{"servers", {"dns.example"}}}).find("egress.dns.servers[0]"),
              std::string::npos);
    EXPECT_NE(dns_error({{"servers", {"192.0.2.53/32"}}}).find("not an IP address"),
              std::string::npos);
    EXPECT_NE(dns_error({{"servers", {1}}}).find("must be a string"), std::string::npos);
    EXPECT_NE(dns_error({{"servers", {"2001:db8::53"}}}).find(R"("ipv6": "route")"),
              std::string::npos);
    EXPECT_EQ(dns_error({{"servers", {"2001:db8::53"}}}, "route"), "no error");
    EXPECT_NE(dns_error({{"servers", {"192.0.2.53"}}, {"clusterDNS", "10.43.0.10"}})
                  .find(R"(unknown key "clusterDNS")"),
              std::string::npos);
    for (const auto* bad :
         {"", ".", "cluster.local.", "a..b", "-a.b", "a-.b", "a/b", "a b", "../../etc"}) {
        EXPECT_NE(dns_error({{"servers", {"192.0.2.53"}}, {"clusterDomain", bad}})
                      .find("egress.dns.clusterDomain"),
                  std::string::npos)
            << bad;
    }
    EXPECT_NE(dns_error({{"servers", {"192.0.2.53"}}, {"clusterDomain", std::string(64, 'a')}})
                  .find("not a DNS name"),
              std::string::npos);
}

TEST(DnsSplitConfig, ClusterDnsOnlyFromTheContext) {
    const auto ctx =
        egress::parse_splitnet_context(json{{"splitnetContext", {{"clusterDNS", "10.43.0.10"}}}});
    ASSERT_TRUE(ctx.cluster_dns);
    EXPECT_EQ(net::to_string(*ctx.cluster_dns), "10.43.0.10");
    EXPECT_THROW(
        egress::parse_splitnet_context(json{{"splitnetContext", {{"clusterDNS", "10.43.0.0/16"}}}}),
        cni::Error);
    EXPECT_FALSE(egress::parse_splitnet_context(json::object()).cluster_dns);
}

using testutil::dns_query;

TEST(DnsMessage, ParsesTheQuestion) {
    const auto q =
        agent::parse_dns_query(dns_query({"QBittorrent", "media", "svc", "cluster", "local"}));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->id, 0xabcd);
    EXPECT_EQ(q->qtype, 28);
    EXPECT_EQ(q->qclass, 1);
    EXPECT_EQ(q->labels.front(), "qbittorrent");
    EXPECT_TRUE(agent::in_domain(*q, "cluster.local"));
    EXPECT_TRUE(agent::in_domain(*q, "svc.cluster.local"));
    EXPECT_FALSE(agent::in_domain(*q, "cluster.loca"));
    EXPECT_FALSE(agent::in_domain(*q, ""));
    EXPECT_EQ(agent::printable_name(*q), "qbittorrent.media.svc.cluster.local.");
    const auto root = agent::parse_dns_query(dns_query({}));
    ASSERT_TRUE(root);
    EXPECT_FALSE(agent::in_domain(*root, "cluster.local"));
    EXPECT_EQ(agent::printable_name(*root), ".");
}

TEST(DnsMessage, ALabelWithADotIsNotAClusterName) {
    // One label "svc.cluster.local" under "tracker": textually a suffix, but not in the zone.
    const auto q = agent::parse_dns_query(dns_query({"tracker", "svc.cluster.local"}));
    ASSERT_TRUE(q);
    EXPECT_FALSE(agent::in_domain(*q, "cluster.local"));
    EXPECT_EQ(agent::printable_name(*q), "tracker.svc\\046cluster\\046local.");
}

TEST(DnsMessage, DropsMalformedQueries) {
    EXPECT_FALSE(agent::parse_dns_query({}));
    auto q = dns_query({"a", "example"});
    EXPECT_FALSE(agent::parse_dns_query(std::span(q).first(11)));             // short header
    EXPECT_FALSE(agent::parse_dns_query(std::span(q).first(q.size() - 1)));   // cut question
    EXPECT_FALSE(agent::parse_dns_query(dns_query({"a"}, {.flags = 0x81})));  // a reply
    EXPECT_FALSE(agent::parse_dns_query(dns_query({"a"}, {.flags = 0x29})));  // opcode UPDATE
    EXPECT_FALSE(agent::parse_dns_query(dns_query({"a"}, {.qdcount = 2})));   // two questions
    EXPECT_FALSE(agent::parse_dns_query(dns_query({"a"}, {.qdcount = 0})));   // none
    EXPECT_FALSE(agent::parse_dns_query(dns_query({std::string(64, 'x')})));  // label > 63
    EXPECT_FALSE(agent::parse_dns_query(
        dns_query({std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'),
                   std::string(63, 'd')})));  // name > 255
    EXPECT_TRUE(agent::parse_dns_query(dns_query(
        {std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(61, 'd')})));
    // 256 octets with the root label (found by the dns_query fuzz harness).
    EXPECT_FALSE(agent::parse_dns_query(dns_query(
        {std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(62, 'd')})));
    auto pointer = dns_query({});
    pointer[12] = 0xc0;
    pointer.insert(pointer.begin() + 13, 0x0c);
    EXPECT_FALSE(agent::parse_dns_query(pointer));
    auto answers = dns_query({"a"});
    answers[7] = 1;
    EXPECT_FALSE(agent::parse_dns_query(answers));
    auto big = dns_query({"a"});
    big.resize(agent::kMaxDnsMessage + 1);
    EXPECT_FALSE(agent::parse_dns_query(big));
}

TEST(DnsMessage, RepliesMatchTheirQuery) {
    auto reply = dns_query({"a"}, {.flags = 0x81});
    EXPECT_TRUE(agent::is_reply_to(reply, 0xabcd));
    EXPECT_FALSE(agent::is_reply_to(reply, 0xabce));
    EXPECT_FALSE(agent::is_reply_to(dns_query({"a"}), 0xabcd));  // QR clear
    EXPECT_FALSE(agent::is_reply_to(std::span(reply).first(11), 0xabcd));
    reply.resize(agent::kMaxDnsMessage + 1);
    EXPECT_FALSE(agent::is_reply_to(reply, 0xabcd));  // too big for UDP
    EXPECT_TRUE(agent::is_reply_to(reply, 0xabcd, agent::kMaxDnsTcpMessage));
}

}  // namespace
}  // namespace splitnet
