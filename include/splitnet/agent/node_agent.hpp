#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "splitnet/agent/dns_split.hpp"
#include "splitnet/agent/gateway_watch.hpp"
#include "splitnet/agent/metrics_server.hpp"
#include "splitnet/agent/metrics_text.hpp"
#include "splitnet/agent/outcome_log.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::agent {

struct AgentOptions {
    std::optional<BindAddress>
        metrics_address;  ///< nullopt: no endpoint (--metrics-bind-address=0)
    std::chrono::milliseconds probe_interval{std::chrono::seconds(10)};
    std::string node_name;  ///< from NODE_NAME; a label of splitnet_build_info
    net::ProbeOptions probe{3, std::chrono::milliseconds(300)};
    /// --cluster-dns: turns the DNS split on (egress.dns pods are served on this address).
    std::optional<net::IpAddr> cluster_dns;
};

/// Parses a Go-style duration of one unit: "10s", "500ms", "2m", "1h". nullopt otherwise. Pure.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The splitnet config in a node config file's content (a .conf, or a .conflist whose first
/// plugin is splitnet), with the plugin's defaults for absent keys (e.g. its cniDir). Throws
/// cni::Error when the content is no config.
config::MetaConf meta_conf_of_node_config(const std::string& content);

/// The node agent's observability half: the gateway watch on a thread of its own, the metrics
/// endpoint on another. The install loop tells it about each sync; nothing it does blocks that
/// loop.
class NodeAgent {
public:
    NodeAgent(AgentOptions options, GatewayEventSink sink);
    ~NodeAgent();  ///< stops and joins both threads
    NodeAgent(const NodeAgent&) = delete;
    NodeAgent& operator=(const NodeAgent&) = delete;
    NodeAgent(NodeAgent&&) = delete;
    NodeAgent& operator=(NodeAgent&&) = delete;

    /// After every sync of the install loop: whether it succeeded (with the reason when not),
    /// and the node config file it manages (where the watch finds cniDir).
    void report_sync(bool ok, const std::string& problem, const std::string& node_config_path);

    /// The /metrics body (exposed for tests).
    std::string metrics_text();
    /// /healthz: 200 "ok", or 503 with the reason.
    HttpAnswer health();

private:
    void watch_loop(const std::stop_token& stop);
    void watch_once();
    void poll_outcomes();
    void dns_loop(const std::stop_token& stop);
    void wake_dns();
    HttpAnswer handle(std::string_view target);

    struct VerbMetrics {
        std::uint64_t count = 0;
        Histogram durations{verb_duration_buckets()};
    };

    AgentOptions options_;
    GatewayWatch watch_;

    std::mutex mutex_;  ///< everything below
    std::condition_variable_any wake_;
    std::string node_config_path_;
    bool synced_ok_ = false;
    std::string sync_problem_ = "the first sync has not finished";
    std::string cni_dir_;
    std::string scan_problem_;
    std::map<std::pair<std::string, std::string>, double> attachments_;  ///< (network, kind)
    std::unique_ptr<OutcomeTail> outcomes_;
    std::map<std::pair<std::string, std::string>, VerbMetrics> verbs_;  ///< (verb, result)
    std::uint64_t rounds_ = 0;
    double last_round_seconds_ = 0;

    std::unique_ptr<DnsSplit> dns_;  ///< null without --cluster-dns
    util::UniqueFd dns_wake_;        ///< eventfd: a new cniDir, or stop
    std::jthread dns_thread_;        ///< follows the state for dns_ (see dns_loop)
    std::unique_ptr<MetricsServer> server_;
    std::jthread watcher_;
};

}  // namespace splitnet::agent
