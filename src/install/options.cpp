#include "splitnet/install/options.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "splitnet/agent/metrics_server.hpp"
#include "splitnet/agent/node_agent.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/net/ip.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::install {
namespace {

struct Flag {
    std::string_view name;
    std::string_view help;
    bool is_bool = false;
    std::function<void(Options&, const std::string&)> set;
};

Flag text(std::string_view name, std::string Options::*member, std::string_view help) {
    return {name, help, false, [member](Options& o, const std::string& v) { o.*member = v; }};
}

Flag boolean(std::string_view name, bool Options::*member, std::string_view help) {
    return {name, help, true, [name, member](Options& o, const std::string& v) {
                if (v != "true" && v != "false") {
                    cni::fail_flag("install", name,
                                   fmt::format("expected true or false, got \"{}\"", v));
                }
                o.*member = v == "true";
            }};
}

std::vector<std::string> parse_cidrs(std::string_view flag, const std::string& value) {
    std::vector<std::string> out;
    for (const auto piece : util::split(value, ',')) {
        const auto trimmed = util::trim(piece);
        const auto cidr = net::parse_cidr(trimmed);
        if (!cidr) {
            cni::fail_flag("install", flag, fmt::format("\"{}\" is not a CIDR", trimmed));
        }
        out.push_back(net::to_string(*cidr));
    }
    return out;
}

const std::vector<Flag>& flags() {
    static const std::vector<Flag> kTable = {
        text("cni-bin-dir", &Options::cni_bin_dir, "where the binary is installed"),
        text("cni-conf-dir", &Options::cni_conf_dir,
             "where the node config and splitnet.d/splitnet.kubeconfig are written"),
        text("cni-version", &Options::cni_version, "refuse a master config of another cniVersion"),
        boolean("force-cni-version", &Options::force_cni_version,
                "use --cni-version instead of refusing"),
        text("multus-conf-file", &Options::conf_file,
             "\"auto\" (generate from the master config) or a config file to copy"),
        text("multus-bin-file", &Options::bin_file, "the binary to install"),
        text("multus-cni-conf-dir", &Options::multus_cni_conf_dir,
             "created for NAD files (confDir)"),
        boolean("skip-multus-binary-copy", &Options::skip_binary_copy, "do not install the binary"),
        text("multus-kubeconfig-file-host", &Options::kubeconfig_host_path,
             "the kubeconfig's path on the host, written into the config (default: "
             "/etc/cni/net.d/splitnet.d/splitnet.kubeconfig when running in a pod)"),
        text("multus-master-cni-file-name", &Options::master_file_name,
             "the master config's file name (default: the first in --multus-autoconfig-dir)"),
        boolean("namespace-isolation", &Options::namespace_isolation,
                "write \"namespaceIsolation\": true"),
        text("global-namespaces", &Options::global_namespaces, "write \"globalNamespaces\""),
        text("multus-autoconfig-dir", &Options::autoconfig_dir,
             "where the master config is looked for"),
        boolean("multus-log-to-stderr", &Options::log_to_stderr,
                "false writes \"logToStderr\": false"),
        text("multus-log-level", &Options::log_level,
             "write \"logLevel\" (debug, verbose, error, panic)"),
        text("multus-log-file", &Options::log_file, "write \"logFile\""),
        boolean("override-network-name", &Options::override_network_name,
                "name the network after the master instead of splitnet-cni-network"),
        boolean("cleanup-config-on-exit", &Options::cleanup_config_on_exit,
                "remove the generated config on SIGTERM/SIGINT"),
        boolean("skip-config-watch", &Options::skip_config_watch,
                "do not regenerate when the master config or the token changes"),
        boolean("rename-conf-file", &Options::rename_conf_file,
                "rename the master config to <file>.old once embedded"),
        text("readiness-indicator-file", &Options::readiness_indicator_file,
             "write \"readinessindicatorfile\""),
        text("additional-bin-dir", &Options::additional_bin_dir, "write \"binDir\""),
        boolean("skip-tls-verify", &Options::skip_tls_verify,
                "kubeconfig with insecure-skip-tls-verify"),
        {"cluster-cidrs",
         "comma-separated pod and service CIDRs, written as \"clusterCIDRs\" (egress keep: "
         "cluster)",
         false,
         [](Options& o, const std::string& v) {
             o.cluster_cidrs = parse_cidrs("cluster-cidrs", v);
         }},
        {"cluster-dns",
         "the cluster DNS Service IP (e.g. 10.43.0.10), written as \"clusterDNS\": egress.dns "
         "answers on it inside the pod and forwards cluster names to it",
         false,
         [](Options& o, const std::string& v) {
             if (!net::parse_ip(v)) {
                 cni::fail_flag("install", "cluster-dns",
                                fmt::format("expected an IP address, got \"{}\"", v));
             }
             o.cluster_dns = v;
         }},
        text("service-account-dir", &Options::service_account_dir,
             "where the service account token and ca.crt are read"),
        boolean("once", &Options::once, "install, then exit (init containers, node images)"),
        {"watch-interval-ms", "how often the watch loop looks for changes", false,
         [](Options& o, const std::string& v) {
             int ms = 0;
             const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
             if (ec != std::errc() || end != v.data() + v.size() || ms < 10 || ms > 3600000) {
                 cni::fail_flag(
                     "install", "watch-interval-ms",
                     fmt::format("expected milliseconds in [10, 3600000], got \"{}\"", v));
             }
             o.watch_interval = std::chrono::milliseconds(ms);
         }},
        boolean("guard-bypassed-pods", &Options::guard_bypassed_pods,
                "delete this node's pods that request networks but were started without "
                "splitnet (default true; needs NODE_NAME and API access)"),
        text("remove-taint", &Options::remove_taint,
             "remove this taint key from the node (NODE_NAME) once the node config is in place"),
        {"metrics-bind-address",
         "HOST:PORT (an IP address) of the node agent's /metrics and /healthz, 0 turns them off "
         "(default 127.0.0.1:9234)",
         false,
         [](Options& o, const std::string& v) {
             if (v != "0" && !agent::parse_bind_address(v)) {
                 cni::fail_flag("install", "metrics-bind-address",
                                fmt::format("expected IP:PORT, [IPv6]:PORT or 0, got \"{}\"", v));
             }
             o.metrics_bind_address = v;
         }},
        {"gateway-probe-interval",
         "how often every egress pod's VPN gateway is probed, e.g. 10s, 500ms, 1m (default 10s)",
         false,
         [](Options& o, const std::string& v) {
             const auto interval = agent::parse_duration(v);
             if (!interval || *interval < std::chrono::milliseconds(100) ||
                 *interval > std::chrono::hours(1)) {
                 cni::fail_flag(
                     "install", "gateway-probe-interval",
                     fmt::format("expected a duration in [100ms, 1h] such as 10s, got \"{}\"", v));
             }
             o.gateway_probe_interval = *interval;
         }},
        boolean("help", &Options::help, "print this list"),
    };
    return kTable;
}

const Flag* find_flag(std::string_view name) {
    const auto& table = flags();
    const auto it =
        std::find_if(table.begin(), table.end(), [name](const Flag& f) { return f.name == name; });
    return it == table.end() ? nullptr : &*it;
}

}  // namespace

Options parse_options(const std::vector<std::string>& args) {
    Options out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        // Go's flag package (Multus) takes -name as well as --name.
        if (arg.size() < 2 || arg[0] != '-') {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("install: unexpected argument \"{}\" (flags start with "
                                         "--; see `splitnet install --help`)",
                                         arg));
        }
        arg.remove_prefix(arg[1] == '-' ? 2 : 1);
        const auto eq = arg.find('=');
        const auto name = arg.substr(0, eq);
        const Flag* flag = find_flag(name);
        if (flag == nullptr) {
            cni::fail_flag("install", name, "unknown flag");
        }
        std::optional<std::string> value;
        if (eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
        } else if (flag->is_bool) {
            value = "true";
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            cni::fail_flag("install", name, "needs a value");
        }
        flag->set(out, *value);
    }
    return out;
}

std::string usage() {
    std::string out =
        "usage: splitnet install [flags]\n"
        "Installs splitnet on a node (binary, node config, kubeconfig), then keeps the config\n"
        "current until SIGTERM unless --once. Flags take --name=value or --name value:\n";
    for (const auto& flag : flags()) {
        out += fmt::format("  --{:<30} {}\n", flag.name, flag.help);
    }
    return out;
}

}  // namespace splitnet::install
