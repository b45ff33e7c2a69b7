// The node agent's pure parts: the outcome log between plugin and agent, the text exposition,
// the gateway watch's decisions, and what the agent reads from a state file.
#include <fcntl.h>
#include <fstream>
#include <limits>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/agent/gateway_events.hpp"
#include "splitnet/agent/gateway_watch.hpp"
#include "splitnet/agent/metrics_server.hpp"
#include "splitnet/agent/metrics_text.hpp"
#include "splitnet/agent/node_agent.hpp"
#include "splitnet/agent/node_attachments.hpp"
#include "splitnet/agent/outcome_log.hpp"
#include "splitnet/cni/error.hpp"
#include "testutil/scratch_dir.hpp"

namespace splitnet::agent {
namespace {

using nlohmann::json;
using testutil::ScratchDir;

TEST(OutcomeLine, RoundTripsAndStaysUnderPipeBuf) {
    const Outcome ok{"ADD", true, 0, 0.0125};
    const auto line = format_outcome_line(ok);
    EXPECT_EQ(line, "v1 ADD ok 0 0.012500\n");
    EXPECT_LT(line.size(), kOutcomeLineMaxBytes);
    EXPECT_EQ(parse_outcome_line(line.substr(0, line.size() - 1)), ok);
    const Outcome failed{"DEL", false, 11, 3.5};
    EXPECT_EQ(parse_outcome_line("v1 DEL error 11 3.500000"), failed);
}

TEST(OutcomeLine, RefusesWhatThePluginWouldNotWrite) {
    for (const char* bad :
         {"", "v2 ADD ok 0 0.1", "v1 STATUS ok 0 0.1", "v1 ADD fine 0 0.1", "v1 ADD ok 7 0.1",
          "v1 ADD error 0 0.1", "v1 ADD ok 0 -1", "v1 ADD ok 0 nan", "v1 ADD ok 0 0.1 extra",
          "v1 ADD ok x 0.1", "v1  ADD ok 0 0.1"}) {
        EXPECT_FALSE(parse_outcome_line(bad)) << bad;
    }
    EXPECT_FALSE(parse_outcome_line("v1 ADD ok 0 " + std::string(200, '1')));
}

TEST(OutcomeTail, SkipsHistoryThenReadsAppendsAndRotates) {
    const ScratchDir dir;
    const auto path = dir / kOutcomeLogName;
    append_outcome(dir.path(), {"ADD", true, 0, 0.1});  // before the agent: not counted
    OutcomeTail tail(path);
    EXPECT_TRUE(tail.poll().empty());
    append_outcome(dir.path(), {"DEL", false, 11, 0.2});
    auto got = tail.poll();
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].verb, "DEL");

    // A torn line is kept until its newline arrives; a line that is not ours is counted.
    {
        std::ofstream out(path, std::ios::app);
        out << "garbage\nv1 CHECK ok 0 0.0";
    }
    EXPECT_TRUE(tail.poll().empty());
    EXPECT_EQ(tail.malformed(), 1U);
    {
        std::ofstream out(path, std::ios::app);
        out << "5\n";
    }
    got = tail.poll();
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].verb, "CHECK");

    // Past the rotation size the file moves to .1; a line a plugin appends to the old inode
    // just after the rename is still read, and the next file is read from its start.
    const std::string filler(kOutcomeLogRotateBytes, '\n');
    {
        std::ofstream out(path, std::ios::app);
        out << filler;
    }
    static_cast<void>(tail.poll());
    EXPECT_TRUE(::access((path + ".1").c_str(), F_OK) == 0);
    EXPECT_FALSE(::access(path.c_str(), F_OK) == 0);
    {
        std::ofstream late(path + ".1", std::ios::app);
        late << format_outcome_line({"ADD", true, 0, 1});
    }
    append_outcome(dir.path(), {"DEL", true, 0, 2});  // creates the new file
    got = tail.poll();
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].seconds, 1);
    EXPECT_EQ(got[1].seconds, 2);
}

TEST(OutcomeTail, ThePluginStopsAppendingToAFileNobodyReads) {
    const ScratchDir dir;
    const auto path = dir / kOutcomeLogName;
    {
        std::ofstream out(path);
        out << std::string(kOutcomeLogMaxBytes, '\n');
    }
    append_outcome(dir.path(), {"ADD", true, 0, 0.1});
    std::ifstream in(path, std::ios::ate);
    EXPECT_EQ(static_cast<std::size_t>(in.tellg()), kOutcomeLogMaxBytes);
    // No directory: silently nothing.
    append_outcome(dir / "missing", {"ADD", true, 0, 0.1});
}

TEST(Exposition, WritesTheTextFormat) {
    Exposition out;
    out.family("x_total", MetricType::Counter, "Help with \\ and\nnewline.");
    out.sample("x_total", {{"a", "q\"uo\\te\nd"}, {"b", "2"}}, 3);
    out.sample("x_total", {}, 0.25);
    EXPECT_EQ(out.text(),
              "# HELP x_total Help with \\\\ and\\nnewline.\n"
              "# TYPE x_total counter\n"
              "x_total{a=\"q\\\"uo\\\\te\\nd\",b=\"2\"} 3\n"
              "x_total 0.25\n");
    EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(Exposition, HistogramBucketsAreCumulative) {
    Histogram h({0.1, 1});
    h.observe(0.05);
    h.observe(0.1);
    h.observe(0.5);
    h.observe(7);
    Exposition out;
    h.write(out, "d_seconds", {{"verb", "ADD"}});
    EXPECT_EQ(out.text(),
              "d_seconds_bucket{verb=\"ADD\",le=\"0.1\"} 2\n"
              "d_seconds_bucket{verb=\"ADD\",le=\"1\"} 3\n"
              "d_seconds_bucket{verb=\"ADD\",le=\"+Inf\"} 4\n"
              "d_seconds_sum{verb=\"ADD\"} 7.65\n"
              "d_seconds_count{verb=\"ADD\"} 4\n");
}

TEST(AgentFlags, DurationsAndBindAddresses) {
    EXPECT_EQ(parse_duration("10s"), std::chrono::seconds(10));
    EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
    EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
    for (const char* bad : {"", "10", "s", "1.5s", "-1s", "10 s", "10sec"}) {
        EXPECT_FALSE(parse_duration(bad)) << bad;
    }
    const auto v4 = parse_bind_address("127.0.0.1:9234");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 9234);
    const auto v6 = parse_bind_address("[::1]:80");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    for (const char* bad : {"0", "9234", ":9234", "localhost:9234", "1.2.3.4:", "1.2.3.4:70000",
                            "::1:80", "[::1]", "1.2.3.4:80x"}) {
        EXPECT_FALSE(parse_bind_address(bad)) << bad;
    }
}

TEST(GatewayWatch, TransitionsAreReportedOnce) {
    EXPECT_EQ(gateway_transition(std::nullopt, true), std::nullopt);
    EXPECT_EQ(gateway_transition(std::nullopt, false), GatewayTransition::Unreachable);
    EXPECT_EQ(gateway_transition(true, false), GatewayTransition::Unreachable);
    EXPECT_EQ(gateway_transition(false, false), std::nullopt);
    EXPECT_EQ(gateway_transition(false, true), GatewayTransition::Recovered);
    EXPECT_EQ(gateway_transition(true, true), std::nullopt);
}

TEST(GatewayWatch, TransitionsBecomeWarningAndNormalEvents) {
    GatewayEvent event;
    event.message = "VPN gateway 192.168.99.1 of network vpn does not answer ARP on net1";
    const auto down = gateway_event_spec(event);
    EXPECT_EQ(down.type, k8s::EventType::Warning);
    EXPECT_EQ(down.reason, "SplitnetGatewayUnreachable");
    EXPECT_EQ(down.message, event.message);
    event.transition = GatewayTransition::Recovered;
    const auto up = gateway_event_spec(event);
    EXPECT_EQ(up.type, k8s::EventType::Normal);
    EXPECT_EQ(up.reason, "SplitnetGatewayRecovered");
    // Without the in-cluster environment there is no API sink (the log is all there is).
    EXPECT_FALSE(make_api_event_sink([](std::string_view) { return std::nullopt; }, "/nonexistent",
                                     "node-a"));
}

net::RouteInfo default_route(std::uint32_t metric, net::RouteType type, unsigned flags = 0) {
    net::RouteInfo route;
    route.dst = *net::parse_cidr("0.0.0.0/0");
    route.priority = metric;
    route.type = type;
    if (type == net::RouteType::Unicast) {
        route.nexthops.push_back({net::parse_ip("192.0.2.1"), 3, flags});
    }
    return route;
}

TEST(GatewayWatch, KillSwitchIsTheBestUsableDefault) {
    const auto vpn = default_route(10, net::RouteType::Unicast);
    const auto vpn_down = default_route(10, net::RouteType::Unicast, RTNH_F_LINKDOWN);
    const auto guard = default_route(11, net::RouteType::Unreachable);
    net::RouteInfo other;
    other.dst = *net::parse_cidr("10.42.0.0/16");
    EXPECT_FALSE(kill_switch_engaged({guard, other, vpn}));
    EXPECT_TRUE(kill_switch_engaged({guard, other}));
    EXPECT_TRUE(kill_switch_engaged({vpn_down, guard}));
    EXPECT_TRUE(kill_switch_engaged({}));
}

store::State egress_state(const std::string& egress_block, store::Phase phase) {
    store::State state;
    state.container_id = "c0ffee";
    state.ifname = "eth0";
    state.cni_version = "1.0.0";
    state.netns = "/var/run/netns/pod";
    state.phase = phase;
    store::AttachmentState primary;
    primary.attachment.network = "cluster";
    primary.attachment.ifname = "eth0";
    primary.attachment.config = R"({"cniVersion":"1.0.0","name":"cluster","type":"ptp"})";
    primary.attachment.is_primary = true;
    primary.result = json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"10.42.0.5/24"}]})");
    store::AttachmentState vpn;
    vpn.attachment.network = "apps/vpn";
    vpn.attachment.ifname = "net1";
    vpn.attachment.config = R"({"cniVersion":"1.0.0","name":"vpn","type":"macvlan",)" +
                            egress_block + R"("master":"vpn0"})";
    vpn.attachment.cni_args = "IgnoreUnknown=true;K8S_POD_NAMESPACE=apps;K8S_POD_NAME=web-1";
    vpn.result = json::parse(
        R"({"cniVersion":"1.0.0","ips":[{"address":"192.168.99.99/24","gateway":"192.168.99.1"}]})");
    state.attachments = {primary, vpn};
    return state;
}

TEST(NodeAttachments, FindsEgressTargetsAndKinds) {
    const auto summary = summarize_state(egress_state(R"("egress":{},)", store::Phase::Added));
    ASSERT_EQ(summary.attachments.size(), 2U);
    EXPECT_EQ(summary.attachments[0].kind, "delegated");
    EXPECT_EQ(summary.attachments[1].kind, "native");
    EXPECT_EQ(summary.attachments[1].network, "apps/vpn");
    ASSERT_EQ(summary.egress.size(), 1U);
    const auto& target = summary.egress[0];
    EXPECT_EQ(target.pod.namespace_, "apps");
    EXPECT_EQ(target.pod.name, "web-1");
    EXPECT_EQ(target.ifname, "net1");
    EXPECT_EQ(target.netns, "/var/run/netns/pod");
    EXPECT_EQ(net::to_string(target.gateway), "192.168.99.1");  // from IPAM
    EXPECT_EQ(net::to_string(target.source), "192.168.99.99");

    // The block's gateway wins over IPAM's.
    const auto explicit_gw = summarize_state(
        egress_state(R"("egress":{"gateway":"192.168.99.2"},)", store::Phase::Added));
    ASSERT_EQ(explicit_gw.egress.size(), 1U);
    EXPECT_EQ(net::to_string(explicit_gw.egress[0].gateway), "192.168.99.2");
    EXPECT_FALSE(explicit_gw.egress[0].probe_target);

    const auto with_target = summarize_state(
        egress_state(R"("egress":{"probeTarget":"tcp://203.0.113.10:443"},)", store::Phase::Added));
    ASSERT_EQ(with_target.egress.size(), 1U);
    ASSERT_TRUE(with_target.egress[0].probe_target);
    EXPECT_EQ(egress::to_string(*with_target.egress[0].probe_target), "tcp://203.0.113.10:443");
}

TEST(NodeAttachments, AnIpv6GatewayIsATargetOnlyUnderIpv6Route) {
    auto state =
        egress_state(R"("egress":{"ipv6":"route","gateway":["192.168.99.1","2001:db8:99::1"]},)",
                     store::Phase::Added);
    state.attachments[1].result = json::parse(
        R"({"cniVersion":"1.0.0","ips":[{"address":"192.168.99.99/24","gateway":"192.168.99.1"},
            {"address":"2001:db8:99::99/64"}]})");
    const auto summary = summarize_state(state);
    ASSERT_EQ(summary.egress.size(), 2U);
    EXPECT_EQ(net::to_string(summary.egress[1].gateway), "2001:db8:99::1");
    EXPECT_EQ(net::to_string(summary.egress[1].source), "2001:db8:99::99");
    EXPECT_NE(target_id(summary.egress[0]), target_id(summary.egress[1]));

    auto blocked = egress_state(R"("egress":{"ipv6":"block"},)", store::Phase::Added);
    blocked.attachments[1].result = state.attachments[1].result;
    EXPECT_EQ(summarize_state(blocked).egress.size(), 1U);
}

TEST(NodeAttachments, NoEgressBlockOrUnfinishedAddMeansNoProbe) {
    EXPECT_TRUE(summarize_state(egress_state("", store::Phase::Added)).egress.empty());
    EXPECT_EQ(summarize_state(egress_state("", store::Phase::Added)).attachments.size(), 2U);
    EXPECT_TRUE(
        summarize_state(egress_state(R"("egress":{},)", store::Phase::Adding)).attachments.empty());
    // A block the ADD would have refused is not probed.
    EXPECT_TRUE(summarize_state(egress_state(R"("egress":{"bogus":1},)", store::Phase::Added))
                    .egress.empty());
}

TEST(NodeAttachments, EgressDnsYieldsADnsTarget) {
    const auto summary = summarize_state(egress_state(
        R"("egress":{"dns":{"servers":["192.0.2.53","198.51.100.53"],"clusterDomain":"K8s.Lan"}},)",
        store::Phase::Added));
    ASSERT_EQ(summary.dns.size(), 1U);
    const auto& dns = summary.dns[0];
    EXPECT_EQ(dns.netns, "/var/run/netns/pod");
    EXPECT_EQ(dns.ifname, "net1");
    EXPECT_EQ(dns.network, "apps/vpn");
    ASSERT_EQ(dns.servers.size(), 2U);
    EXPECT_EQ(net::to_string(dns.servers[1]), "198.51.100.53");
    EXPECT_EQ(dns.cluster_domain, "k8s.lan");
    EXPECT_TRUE(summarize_state(egress_state(R"("egress":{},)", store::Phase::Added)).dns.empty());
    EXPECT_TRUE(
        summarize_state(egress_state(R"("egress":{"dns":{"servers":["x"]}},)", store::Phase::Added))
            .dns.empty());
    EXPECT_TRUE(summarize_state(egress_state(R"("egress":{"dns":{"servers":["192.0.2.53"]}},)",
                                             store::Phase::Adding))
                    .dns.empty());
}

TEST(NodeAgent, CniDirAndKubeconfigComeFromTheNodeConfig) {
    const auto listed = meta_conf_of_node_config(
        R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"splitnet","cniDir":"/x",)"
        R"("kubeconfig":"/etc/cni/net.d/splitnet.d/splitnet.kubeconfig"}]})");
    EXPECT_EQ(listed.cni_dir, "/x");
    EXPECT_EQ(listed.kubeconfig, "/etc/cni/net.d/splitnet.d/splitnet.kubeconfig");
    const auto plain =
        meta_conf_of_node_config(R"({"cniVersion":"0.3.1","name":"n","type":"splitnet"})");
    EXPECT_EQ(plain.cni_dir, "/var/lib/cni/splitnet");
    EXPECT_EQ(plain.kubeconfig, "");
    EXPECT_THROW(meta_conf_of_node_config("{"), cni::Error);
}

TEST(NodeAgent, HealthAndMetricsWithoutAnEndpoint) {
    const ScratchDir dir;
    AgentOptions options;  // no metrics address: nothing listens
    options.probe_interval = std::chrono::hours(1);
    options.node_name = "node-a";
    NodeAgent agent(options, nullptr);
    EXPECT_EQ(agent.health().status, 503);
    {
        std::ofstream conf(dir / "00-splitnet.conflist");
        conf << R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"splitnet","cniDir":")"
             << dir.path() << R"("}]})";
    }
    agent.report_sync(true, "", dir / "00-splitnet.conflist");
    EXPECT_EQ(agent.health().status, 200);
    EXPECT_NE(agent.metrics_text().find("splitnet_build_info{version=\"" SPLITNET_VERSION
                                        "\",node=\"node-a\"} 1\n"),
              std::string::npos);
    agent.report_sync(false, "install: master config x is not valid JSON",
                      dir / "00-splitnet.conflist");
    const auto unhealthy = agent.health();
    EXPECT_EQ(unhealthy.status, 503);
    EXPECT_NE(unhealthy.body.find("not valid JSON"), std::string::npos);
    EXPECT_NE(agent.metrics_text().find("splitnet_agent_healthy 0\n"), std::string::npos);
}

}  // namespace
}  // namespace splitnet::agent
