#include "splitnet/agent/node_agent.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <poll.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::agent {
namespace {

using nlohmann::json;

struct StateScan {
    std::map<std::pair<std::string, std::string>, double> attachments;  ///< (network, kind)
    std::vector<EgressTarget> egress;
    std::vector<DnsTarget> dns;
    std::string problem;  ///< the directory could not be listed
};

Labels target_labels(const EgressTarget& target) {
    return {{"namespace", target.pod.namespace_},
            {"pod", target.pod.name},
            {"network", target.network},
            {"interface", target.ifname},
            {"gateway", net::to_string(target.gateway)}};
}

// What the state files of cniDir say about the node, read without the plugin's locks.
StateScan scan_states(const std::string& cni_dir) {
    StateScan out;
    const store::StateStore store(cni_dir);
    try {
        for (const auto& key : store.list()) {
            // Read without the lock and without load()'s repair (renaming a corrupt file
            // aside is the plugin's business): files are replaced atomically, so a read sees
            // one whole version; one that vanished meanwhile is a DEL that finished.
            const auto path = fmt::format("{}/{}@{}.json", cni_dir, key.container_id, key.ifname);
            std::optional<std::string> content;
            try {
                content =
                    util::read_file_if_exists(path, util::Symlinks::Refuse, util::kMaxResultBytes);
            } catch (const cni::Error&) {
                continue;
            }
            if (!content) {
                continue;
            }
            const auto doc = util::try_parse_json_bounded(
                *content, {util::kMaxResultBytes, util::kMaxComposedJsonDepth});
            if (!doc) {
                continue;
            }
            NodeAttachments summary;
            try {
                summary = summarize_state(store::state_from_json(*doc));
            } catch (const std::exception&) {
                continue;
            }
            for (const auto& a : summary.attachments) {
                out.attachments[{a.network, a.kind}] += 1;
            }
            for (auto& t : summary.egress) {
                out.egress.push_back(std::move(t));
            }
            for (auto& t : summary.dns) {
                out.dns.push_back(std::move(t));
            }
        }
    } catch (const cni::Error& e) {
        out.problem = e.what();
    }
    return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
    if (digits == 0 || ec != std::errc() || value > 1000000) {
        return std::nullopt;
    }
    const auto unit = text.substr(digits);
    if (unit == "ms") {
        return std::chrono::milliseconds(value);
    }
    if (unit == "s") {
        return std::chrono::seconds(value);
    }
    if (unit == "m") {
        return std::chrono::minutes(value);
    }
    if (unit == "h") {
        return std::chrono::hours(value);
    }
    return std::nullopt;
}

config::MetaConf meta_conf_of_node_config(const std::string& content) {
    auto doc = util::parse_json_bounded(content, "node config",
                                        {util::kMaxConfigBytes, util::kMaxJsonDepth},
                                        cni::ErrorCode::InvalidNetworkConfig);
    if (const auto plugins = doc.find("plugins"); plugins != doc.end()) {
        if (!plugins->is_array() || plugins->empty() || !plugins->front().is_object()) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             "node config: \"plugins\" has no first plugin");
        }
        json plugin = plugins->front();
        plugin["cniVersion"] = doc.value("cniVersion", "");
        plugin["name"] = doc.value("name", "");
        doc = std::move(plugin);
    }
    return config::parse_meta_conf(util::dump_json(doc));
}

NodeAgent::NodeAgent(AgentOptions options, GatewayEventSink sink)
    : options_(std::move(options)), watch_(options_.probe, std::move(sink)) {
    if (options_.cluster_dns) {
        dns_ = std::make_unique<DnsSplit>(DnsSplitOptions{.cluster_dns = *options_.cluster_dns});
        dns_wake_ = util::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        dns_thread_ = std::jthread([this](const std::stop_token& stop) { dns_loop(stop); });
    }
    if (options_.metrics_address) {
        server_ = std::make_unique<MetricsServer>(
            *options_.metrics_address, [this](std::string_view target) { return handle(target); });
        spdlog::info("metrics: serving /metrics and /healthz on {}:{}",
                     options_.metrics_address->host, server_->port());
    }
    watcher_ = std::jthread([this](const std::stop_token& stop) { watch_loop(stop); });
}

NodeAgent::~NodeAgent() {
    if (dns_thread_.joinable()) {
        dns_thread_.request_stop();
        wake_dns();
        dns_thread_.join();
    }
    watcher_.request_stop();
    wake_.notify_all();
    if (watcher_.joinable()) {
        watcher_.join();
    }
    server_.reset();
    dns_.reset();
}

void NodeAgent::report_sync(bool ok, const std::string& problem,
                            const std::string& node_config_path) {
    bool first_config = false;
    {
        const std::lock_guard lock(mutex_);
        synced_ok_ = ok;
        sync_problem_ = problem;
        first_config = node_config_path_.empty() && !node_config_path.empty();
        if (!node_config_path.empty()) {
            node_config_path_ = node_config_path;
        }
    }
    if (first_config) {
        wake_.notify_all();  // the first round need not wait a whole interval
    }
}

void NodeAgent::watch_loop(const std::stop_token& stop) {
    auto next = std::chrono::steady_clock::now();
    while (!stop.stop_requested()) {
        bool have_config = false;
        {
            std::unique_lock lock(mutex_);
            have_config = !node_config_path_.empty();
        }
        if (have_config) {
            try {
                watch_once();
            } catch (const std::exception& e) {
                spdlog::error("gateway watch: {}", e.what());
            }
            // Fixed rate: a round that took long does not push every later one back.
            next += options_.probe_interval;
            const auto now = std::chrono::steady_clock::now();
            if (next < now) {
                next = now;
            }
        } else {
            next = std::chrono::steady_clock::now() + options_.probe_interval;
        }
        std::unique_lock lock(mutex_);
        wake_.wait_until(lock, stop, next,
                         [&] { return !have_config && !node_config_path_.empty(); });
    }
}

void NodeAgent::watch_once() {
    std::string config_path;
    {
        const std::lock_guard lock(mutex_);
        config_path = node_config_path_;
    }
    std::string cni_dir;
    std::string problem;
    try {
        const auto content =
            util::read_file_if_exists(config_path, util::Symlinks::Follow, util::kMaxConfigBytes);
        if (!content) {
            throw cni::Error(cni::ErrorCode::IoFailure,
                             fmt::format("node config {} is missing", config_path));
        }
        cni_dir = meta_conf_of_node_config(*content).cni_dir;
    } catch (const cni::Error& e) {
        problem = e.what();
    }

    StateScan scan;
    if (!cni_dir.empty()) {
        scan = scan_states(cni_dir);
        if (problem.empty()) {
            problem = scan.problem;
        }
    }
    auto& attachments = scan.attachments;
    auto& targets = scan.egress;

    {
        const std::lock_guard lock(mutex_);
        if (problem != scan_problem_ && !problem.empty()) {
            spdlog::error("node agent: {}", problem);
        }
        scan_problem_ = problem;
        attachments_ = std::move(attachments);
        if (!cni_dir.empty() && cni_dir != cni_dir_) {
            cni_dir_ = cni_dir;
            outcomes_ = std::make_unique<OutcomeTail>(cni_dir + "/" + kOutcomeLogName);
            wake_dns();  // it has waited for the state directory
        }
    }
    poll_outcomes();

    const auto started = std::chrono::steady_clock::now();
    watch_.probe_round(targets);
    const std::lock_guard lock(mutex_);
    ++rounds_;
    last_round_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

void NodeAgent::wake_dns() {
    if (dns_wake_.get() >= 0) {
        const std::uint64_t one = 1;
        // An eventfd write fails only when its counter would overflow: never for a few writes.
        [[maybe_unused]] const auto written = ::write(dns_wake_.get(), &one, sizeof(one));
    }
}

// The DNS split follows the node's state on a thread of its own: a state file that appears,
// changes or goes (inotify on cniDir) starts or stops a pod's DNS at once, not at the next
// probe round, so a new pod's first query finds the agent listening. The probe interval is the
// fallback when inotify is unavailable or misses an event.
void NodeAgent::dns_loop(const std::stop_token& stop) {
    std::string watched;
    util::UniqueFd inotify;
    while (!stop.stop_requested()) {
        std::string cni_dir;
        {
            const std::lock_guard lock(mutex_);
            cni_dir = cni_dir_;
        }
        if (!cni_dir.empty()) {
            if (cni_dir != watched) {
                inotify = util::UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
                if (inotify.get() >= 0 && ::inotify_add_watch(inotify.get(), cni_dir.c_str(),
                                                              IN_MOVED_TO | IN_MOVED_FROM |
                                                                  IN_CLOSE_WRITE | IN_DELETE) < 0) {
                    spdlog::warn("dns split: cannot watch {}: {}; following it every {} ms",
                                 cni_dir, net::errno_text(errno), options_.probe_interval.count());
                    inotify.reset();
                }
                watched = cni_dir;
            }
            try {
                const auto scan = scan_states(cni_dir);
                if (scan.problem.empty()) {
                    dns_->sync(scan.dns);
                }
            } catch (const std::exception& e) {
                spdlog::error("dns split: {}", e.what());
            }
        }
        std::array<pollfd, 2> fds = {pollfd{dns_wake_.get(), POLLIN, 0},
                                     pollfd{inotify.get(), POLLIN, 0}};
        ::poll(fds.data(), fds.size(), static_cast<int>(options_.probe_interval.count()));
        std::array<char, 4096> drain{};
        while (::read(dns_wake_.get(), drain.data(), sizeof(std::uint64_t)) > 0) {
        }
        while (inotify.get() >= 0 && ::read(inotify.get(), drain.data(), drain.size()) > 0) {
        }
    }
}

void NodeAgent::poll_outcomes() {
    const std::lock_guard lock(mutex_);
    if (!outcomes_) {
        return;
    }
    for (const auto& outcome : outcomes_->poll()) {
        auto& entry = verbs_[{outcome.verb, outcome.success ? "success" : "error"}];
        ++entry.count;
        entry.durations.observe(outcome.seconds);
    }
}

std::string NodeAgent::metrics_text() {
    poll_outcomes();
    const auto statuses = watch_.snapshot();
    const auto health_answer = health();
    const std::lock_guard lock(mutex_);
    Exposition out;
    out.family("splitnet_build_info", MetricType::Gauge,
               "Always 1; the labels say which splitnet runs on which node.");
    out.sample("splitnet_build_info", {{"version", SPLITNET_VERSION}, {"node", options_.node_name}},
               1);
    out.family("splitnet_agent_healthy", MetricType::Gauge,
               "1 when the node config exists and the last sync and scan succeeded (as /healthz).");
    out.sample("splitnet_agent_healthy", {}, health_answer.status == 200 ? 1 : 0);
    out.family("splitnet_attachments", MetricType::Gauge,
               "Attachments of finished ADDs on this node, by network and kind (native: "
               "splitnet's in-process macvlan; delegated: an exec'd plugin).");
    for (const auto& [key, count] : attachments_) {
        out.sample("splitnet_attachments", {{"network", key.first}, {"kind", key.second}}, count);
    }

    out.family("splitnet_gateway_probe_interval_seconds", MetricType::Gauge,
               "How often every egress pod's VPN gateway is probed.");
    out.sample("splitnet_gateway_probe_interval_seconds", {},
               std::chrono::duration<double>(options_.probe_interval).count());
    out.family("splitnet_gateway_probe_rounds_total", MetricType::Counter,
               "Probe rounds over all egress pods since the agent started.");
    out.sample("splitnet_gateway_probe_rounds_total", {}, static_cast<double>(rounds_));
    out.family("splitnet_gateway_probe_round_duration_seconds", MetricType::Gauge,
               "How long the last round over all egress pods took.");
    out.sample("splitnet_gateway_probe_round_duration_seconds", {}, last_round_seconds_);

    if (dns_) {
        const auto& c = dns_->counters();
        out.family(
            "splitnet_dns_pods_served", MetricType::Gauge,
            "Pods with egress.dns whose DNS the agent answers (sockets in the pod's netns).");
        out.sample("splitnet_dns_pods_served", {}, static_cast<double>(dns_->pods_served()));
        out.family("splitnet_dns_queries_total", MetricType::Counter,
                   "DNS queries of egress.dns pods: answered via the cluster DNS or the VPN, "
                   "failed (no upstream answered in time), dropped (malformed or over the rate).");
        out.sample("splitnet_dns_queries_total", {{"result", "cluster"}},
                   static_cast<double>(c.cluster_answered.load()));
        out.sample("splitnet_dns_queries_total", {{"result", "vpn"}},
                   static_cast<double>(c.vpn_answered.load()));
        out.sample("splitnet_dns_queries_total", {{"result", "failed"}},
                   static_cast<double>(c.failed.load()));
        out.sample("splitnet_dns_queries_total", {{"result", "dropped"}},
                   static_cast<double>(c.dropped.load()));
    }

    const auto per_target = [&](const char* name, MetricType type, const char* help,
                                const auto& value_of) {
        out.family(name, type, help);
        for (const auto& status : statuses) {
            out.sample(name, target_labels(status.target), value_of(status));
        }
    };
    per_target("splitnet_egress_gateway_reachable", MetricType::Gauge,
               "1 when the pod's VPN gateway answered ARP (IPv4) or NDP (IPv6) on the egress "
               "interface at the last probe, from inside the pod's netns.",
               [](const GatewayStatus& s) { return s.reachable ? 1.0 : 0.0; });
    per_target("splitnet_egress_kill_switch_engaged", MetricType::Gauge,
               "1 when the pod's default route of the gateway's family is the kill switch (no "
               "usable route via the VPN gateway): no internet over that family.",
               [](const GatewayStatus& s) { return s.kill_switch_engaged ? 1.0 : 0.0; });
    per_target("splitnet_egress_gateway_last_probe_timestamp_seconds", MetricType::Gauge,
               "Unix time at which the last probe of the gateway started.",
               [](const GatewayStatus& s) { return s.probed_at_unix_seconds; });
    per_target("splitnet_egress_gateway_status_since_timestamp_seconds", MetricType::Gauge,
               "Unix time at which the first probe that saw the current reachability started.",
               [](const GatewayStatus& s) { return s.status_since_unix_seconds; });
    per_target("splitnet_egress_gateway_probe_duration_seconds", MetricType::Gauge,
               "How long the last probe of the gateway took.",
               [](const GatewayStatus& s) { return s.probe_seconds; });
    per_target("splitnet_egress_gateway_probes_total", MetricType::Counter,
               "Probes of the gateway since the agent started.",
               [](const GatewayStatus& s) { return static_cast<double>(s.probes); });

    out.family("splitnet_egress_probe_target_reachable", MetricType::Gauge,
               "1 when egress.probeTarget answered a TCP connect through the tunnel (a socket "
               "bound to the egress interface in the pod's netns); only for networks that set it.");
    for (const auto& status : statuses) {
        if (status.target_reachable && status.target.probe_target) {
            auto labels = target_labels(status.target);
            labels.emplace_back("target", egress::to_string(*status.target.probe_target));
            out.sample("splitnet_egress_probe_target_reachable", labels,
                       *status.target_reachable ? 1 : 0);
        }
    }

    out.family("splitnet_cni_operations_total", MetricType::Counter,
               "CNI verbs run by the plugin on this node since the agent started, by verb and "
               "result.");
    for (const auto& [key, metrics] : verbs_) {
        out.sample("splitnet_cni_operations_total", {{"verb", key.first}, {"result", key.second}},
                   static_cast<double>(metrics.count));
    }
    out.family("splitnet_cni_operation_duration_seconds", MetricType::Histogram,
               "Wall time of CNI verbs run by the plugin, by verb and result.");
    for (const auto& [key, metrics] : verbs_) {
        metrics.durations.write(out, "splitnet_cni_operation_duration_seconds",
                                {{"verb", key.first}, {"result", key.second}});
    }
    out.family("splitnet_outcome_log_malformed_lines_total", MetricType::Counter,
               "Lines of <cniDir>/outcomes.log the agent could not read.");
    out.sample("splitnet_outcome_log_malformed_lines_total", {},
               static_cast<double>(outcomes_ ? outcomes_->malformed() : 0));
    return out.text();
}

HttpAnswer NodeAgent::health() {
    const std::lock_guard lock(mutex_);
    if (node_config_path_.empty() || !synced_ok_) {
        return {503, "text/plain; charset=utf-8",
                fmt::format("unhealthy: {}\n",
                            sync_problem_.empty() ? "no node config written yet" : sync_problem_)};
    }
    if (!scan_problem_.empty()) {
        return {503, "text/plain; charset=utf-8", fmt::format("unhealthy: {}\n", scan_problem_)};
    }
    return {200, "text/plain; charset=utf-8", "ok\n"};
}

HttpAnswer NodeAgent::handle(std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
        return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
    }
    if (path == "/healthz") {
        return health();
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n"};
}

}  // namespace splitnet::agent
