#include "splitnet/install/installer.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <pthread.h>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/agent/api_duties.hpp"
#include "splitnet/agent/gateway_events.hpp"
#include "splitnet/agent/node_agent.hpp"
#include "splitnet/app/command_line.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/install/node_config.hpp"
#include "splitnet/install/service_account.hpp"
#include "splitnet/log/logging.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::install {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr mode_t kDirMode = 0755;
constexpr mode_t kBinaryMode = 0755;
// The config and the kubeconfig hold the token: root only, as Multus writes them.
constexpr mode_t kSecretMode = 0600;
constexpr const char* kBinaryName = "splitnet";
constexpr const char* kKubeconfigDir = "splitnet.d";
constexpr const char* kKubeconfigName = "splitnet.kubeconfig";

std::string read_required(const std::string& path) {
    auto content = util::read_file_if_exists(path, util::Symlinks::Follow);
    if (!content) {
        util::io_error("read", path, ENOENT);
    }
    return std::move(*content);
}

// Writes dir/name when its content differs; true when it wrote.
bool write_if_changed(const std::string& dir, const std::string& name, const std::string& content,
                      mode_t mode) {
    if (util::read_file_if_exists(dir + "/" + name, util::Symlinks::Follow) == content) {
        return false;
    }
    util::make_dirs(dir, kDirMode);
    util::write_file_atomic(dir, name, content, mode, util::Durability::Durable);
    return true;
}

void remove_if_exists(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        util::io_error("remove", path, errno);
    }
}

std::vector<std::string> list_names(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        util::io_error("list", dir, ec.value());
    }
    return names;
}

}  // namespace

Installer::Installer(Options options, cni::Getenv getenv)
    : options_(std::move(options)), getenv_(std::move(getenv)) {}

void Installer::install_binary() const {
    const auto content = read_required(options_.bin_file);
    util::make_dirs(options_.cni_bin_dir, kDirMode);
    util::write_file_atomic(options_.cni_bin_dir, kBinaryName, content, kBinaryMode,
                            util::Durability::Durable);
    spdlog::info("installed {} ({} bytes) as {}/{}", options_.bin_file, content.size(),
                 options_.cni_bin_dir, kBinaryName);
}

void Installer::remove_temp_files() const {
    util::remove_temp_files_of(options_.cni_bin_dir, kBinaryName);
    for (const auto& name : config_names()) {
        util::remove_temp_files_of(options_.cni_conf_dir, name);
    }
    util::remove_temp_files_of(options_.cni_conf_dir + "/" + kKubeconfigDir, kKubeconfigName);
}

void Installer::sync_kubeconfig() {
    if (!k8s::in_cluster_available(getenv_)) {
        kubeconfig_in_config_ = options_.kubeconfig_host_path;
        if (!told_no_service_account_) {
            spdlog::warn(
                "KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?): no "
                "kubeconfig written; the config {}",
                kubeconfig_in_config_.empty()
                    ? std::string("has none (NADs from files only)")
                    : fmt::format("points at {} as it is", kubeconfig_in_config_));
            told_no_service_account_ = true;
        }
        return;
    }
    kubeconfig_in_config_ = options_.kubeconfig_host_path.empty()
                                ? std::string(kDefaultKubeconfigHostPath)
                                : options_.kubeconfig_host_path;
    // Throws naming the file when the token or CA is missing (automountServiceAccountToken off).
    const auto access = k8s::in_cluster_access(getenv_, options_.service_account_dir);
    const std::string dir = options_.cni_conf_dir + "/" + kKubeconfigDir;
    if (write_if_changed(dir, kKubeconfigName,
                         service_account_kubeconfig(access, options_.skip_tls_verify),
                         kSecretMode)) {
        spdlog::info("wrote {}/{} for {}", dir, kKubeconfigName, access.server());
    }
}

bool Installer::sync_auto_config() {
    const auto master = pick_master(list_names(options_.autoconfig_dir), options_.master_file_name);
    if (!master) {
        // Embedded already (and renamed to .old with --rename-conf-file): keep what is written.
        if (!told_no_master_) {
            spdlog::warn(
                "no master CNI config in {}{}: waiting for the cluster network to "
                "write one",
                options_.autoconfig_dir,
                options_.master_file_name.empty()
                    ? ""
                    : fmt::format(" named {}", options_.master_file_name));
            told_no_master_ = true;
        }
        return last_master_.has_value();
    }
    told_no_master_ = false;
    const std::string master_path = options_.autoconfig_dir + "/" + *master;
    // The message carries no parser detail: the watch reports a master once per distinct message,
    // and a file caught half-written would otherwise be reported twice.
    const auto doc = util::try_parse_json_bounded(read_required(master_path),
                                                  {util::kMaxConfigBytes, util::kMaxJsonDepth});
    if (!doc) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         fmt::format("install: master config {} is not valid JSON", master_path));
    }
    const auto config = generate_node_config(*doc, master_path, options_, kubeconfig_in_config_);
    const auto path = options_.cni_conf_dir + "/" + config.file_name;
    // Said before the rewrite, so whoever sees the file back also finds the reason in the log.
    if (last_master_ && !fs::exists(path) && fs::exists(path + ".cilium_bak")) {
        spdlog::error(
            "{} was renamed to {}.cilium_bak, so Cilium runs with cni.exclusive=true "
            "and keeps taking over the node's CNI config: set cni.exclusive=false in "
            "Cilium's Helm values. Writing it again.",
            path, config.file_name);
    }
    if (write_if_changed(options_.cni_conf_dir, config.file_name, config.content, kSecretMode)) {
        spdlog::info("wrote {} from {}", path, master_path);
    }
    remove_if_exists(options_.cni_conf_dir + "/" + sibling_config_name(config.file_name));
    last_master_ = *master;
    config_path_ = path;
    if (options_.rename_conf_file) {
        if (::rename(master_path.c_str(), (master_path + ".old").c_str()) != 0) {
            util::io_error("rename", master_path, errno);
        }
        spdlog::info("renamed {} to {}.old", master_path, master_path);
    }
    return true;
}

void Installer::sync_copied_config() {
    const auto name = fs::path(options_.conf_file).filename().string();
    if (write_if_changed(options_.cni_conf_dir, name, read_required(options_.conf_file),
                         kSecretMode)) {
        spdlog::info("copied {} to {}/{}", options_.conf_file, options_.cni_conf_dir, name);
    }
    config_path_ = options_.cni_conf_dir + "/" + name;
}

bool Installer::sync() {
    util::make_dirs(options_.multus_cni_conf_dir, kDirMode);
    sync_kubeconfig();
    if (options_.conf_file != "auto") {
        sync_copied_config();
        return true;
    }
    return sync_auto_config();
}

std::vector<std::string> Installer::config_names() const {
    return options_.conf_file == "auto"
               ? std::vector<std::string>{fmt::format("{}.conf", kConfBaseName),
                                          fmt::format("{}.conflist", kConfBaseName)}
               : std::vector<std::string>{fs::path(options_.conf_file).filename().string()};
}

void Installer::remove_config() const {
    for (const auto& name : config_names()) {
        remove_if_exists(options_.cni_conf_dir + "/" + name);
    }
    spdlog::info("removed the node config from {}", options_.cni_conf_dir);
}

void Installer::uninstall() const {
    remove_temp_files();
    remove_if_exists(options_.cni_bin_dir + "/" + kBinaryName);
    remove_config();
    // Cilium with cni.exclusive=true renames the config it finds; those copies are ours too.
    for (const auto& name : config_names()) {
        remove_if_exists(options_.cni_conf_dir + "/" + name + ".cilium_bak");
    }
    const std::string dir = options_.cni_conf_dir + "/" + kKubeconfigDir;
    remove_if_exists(dir + "/" + kKubeconfigName);
    // The directory is splitnet's; anything an admin put there stays, and so does the directory.
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
        if (errno != ENOTEMPTY && errno != EEXIST) {
            util::io_error("remove", dir, errno);
        }
        spdlog::warn("{} is not empty: left in place", dir);
    }
    spdlog::info("uninstalled: removed {}/{}, the node config and {}/{}", options_.cni_bin_dir,
                 kBinaryName, dir, kKubeconfigName);
}

namespace {

// Waits up to `interval` for SIGTERM/SIGINT (blocked, so they queue); true when one came.
bool wait_for_stop(const sigset_t& stop_signals, std::chrono::milliseconds interval) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(interval.count() / 1000);
    timeout.tv_nsec = static_cast<long>((interval.count() % 1000) * 1000000);
    for (;;) {
        const int signal = ::sigtimedwait(&stop_signals, nullptr, &timeout);
        if (signal > 0) {
            spdlog::info("signal {}: stopping", signal);
            return true;
        }
        if (errno == EAGAIN) {
            return false;
        }
        // EINTR: another signal interrupted the wait; wait again (the bound restarts, which
        // only delays the next sync).
    }
}

// Whether the node config in place names a kubeconfig: only then does splitnet write each pod's
// network-status, which the bypassed-pod guard relies on. A config that cannot be read or parsed
// (say, between a hand edit and the next sync) names none.
bool names_kubeconfig(const std::string& node_config_path) {
    if (node_config_path.empty()) {
        return false;
    }
    try {
        const auto content = util::read_file_if_exists(node_config_path, util::Symlinks::Follow,
                                                       util::kMaxConfigBytes);
        return content && !agent::meta_conf_of_node_config(*content).kubeconfig.empty();
    } catch (const cni::Error&) {
        return false;
    }
}

// The metrics endpoint and the gateway watch, on threads of their own (after SIGTERM/SIGINT are
// blocked, so the threads inherit the mask and the signals reach the loop's sigtimedwait).
std::unique_ptr<agent::NodeAgent> start_node_agent(const Options& options,
                                                   const cni::Getenv& getenv) {
    agent::AgentOptions agent_options;
    if (options.metrics_bind_address != "0") {
        agent_options.metrics_address = agent::parse_bind_address(options.metrics_bind_address);
    }
    agent_options.probe_interval = options.gateway_probe_interval;
    if (!options.cluster_dns.empty()) {
        agent_options.cluster_dns = net::parse_ip(options.cluster_dns);
    }
    agent_options.node_name = getenv("NODE_NAME").value_or("");
    auto sink =
        agent::make_api_event_sink(getenv, options.service_account_dir, agent_options.node_name);
    if (!sink) {
        spdlog::info("gateway watch: no in-cluster API access; transitions are logged only");
    }
    return std::make_unique<agent::NodeAgent>(std::move(agent_options), std::move(sink));
}

int run(const Options& options, const cni::Getenv& getenv) {
    // Blocked before anything else, so a SIGTERM during the first sync is not lost.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    // pthread_sigmask, not sigprocmask: the same for this single-threaded process, and defined
    // for threads too.
    if (!options.once && ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
        throw cni::Error(cni::ErrorCode::Other, "install: cannot block SIGTERM/SIGINT");
    }

    Installer installer(options, getenv);
    installer.remove_temp_files();
    if (!options.skip_binary_copy) {
        installer.install_binary();
    }
    const bool configured = installer.sync();
    if (options.once) {
        if (!configured) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("install: no master CNI config in {}: install the "
                                         "cluster network first, or name one with "
                                         "--multus-master-cni-file-name",
                                         options.autoconfig_dir));
        }
        return 0;
    }
    const auto node_agent = start_node_agent(options, getenv);
    node_agent->report_sync(configured, configured ? "" : "no master CNI config yet",
                            installer.node_config_path());
    const bool watch = !options.skip_config_watch;
    // The node agent's API duties (taint, bypassed-pod guard) run after each sync.
    agent::ApiDuties api_duties(
        {options.guard_bypassed_pods, options.remove_taint, options.service_account_dir}, getenv);
    bool in_place = configured;
    api_duties.tick(in_place, names_kubeconfig(installer.node_config_path()));
    std::string last_error;
    while (!wait_for_stop(stop_signals, options.watch_interval)) {
        if (!watch) {
            api_duties.tick(in_place, names_kubeconfig(installer.node_config_path()));
            continue;
        }
        try {
            const bool synced = installer.sync();
            in_place = synced;
            node_agent->report_sync(synced, synced ? "" : "no master CNI config yet",
                                    installer.node_config_path());
            last_error.clear();
            api_duties.tick(in_place, names_kubeconfig(installer.node_config_path()));
        } catch (const cni::Error& e) {
            node_agent->report_sync(false, e.what(), installer.node_config_path());
            // Keep running: the next change (a fixed master config) is picked up. Said once
            // per distinct error, not every interval.
            if (e.what() != last_error) {
                spdlog::error("{} (keeping the config written last; retrying)", e.what());
                last_error = e.what();
            }
        }
    }
    if (options.cleanup_config_on_exit) {
        installer.remove_config();
    }
    return 0;
}

}  // namespace

int run_install(const std::vector<std::string>& args, const cni::Getenv& getenv) {
    log::init_stderr_threaded();  // the node agent's threads log too
    Options options;
    try {
        options = parse_options(args);
    } catch (const cni::Error& e) {
        // A usage error, as for the top-level command line: exit 2, never a silent success.
        spdlog::error("{}", e.what());
        return app::kUsageExitCode;
    }
    if (options.help) {
        // Best effort: nothing to do if stderr is gone.
        static_cast<void>(std::fputs(usage().c_str(), stderr));
        return 0;
    }
    try {
        return run(options, getenv);
    } catch (const cni::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    } catch (const net::KernelError& e) {  // the node agent's top level
        spdlog::error("{}", e.what());
        return 1;
    }
}

int run_uninstall(const std::vector<std::string>& args) {
    spdlog::set_level(spdlog::level::info);
    Options options;
    try {
        options = parse_options(args);
    } catch (const cni::Error& e) {
        spdlog::error("uninstall: {}", e.what());
        return app::kUsageExitCode;
    }
    if (options.help) {
        static_cast<void>(std::fputs(
            ("usage: splitnet uninstall [flags]\n"
             "Removes what `splitnet install` wrote: <cni-bin-dir>/splitnet, the node config in\n"
             "<cni-conf-dir> and <cni-conf-dir>/splitnet.d/splitnet.kubeconfig (and the directory\n"
             "when empty). The master config is left alone. Idempotent. It takes install's flags;\n"
             "only the directory and file flags matter:\n\n" +
             usage())
                .c_str(),
            stderr));
        return 0;
    }
    try {
        Installer(options, [](std::string_view) {
            return std::optional<std::string>();
        }).uninstall();
        return 0;
    } catch (const cni::Error& e) {
        spdlog::error("uninstall: {}", e.what());
        return 1;
    }
}

}  // namespace splitnet::install
