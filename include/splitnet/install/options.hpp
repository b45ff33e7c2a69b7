#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace splitnet::install {

inline constexpr const char* kDefaultKubeconfigHostPath =
    "/etc/cni/net.d/splitnet.d/splitnet.kubeconfig";

/// `splitnet install` flags. The names and defaults are those of Multus' thin entrypoint
/// (cmd/thin_entrypoint), so an existing Multus DaemonSet's args carry over; only the file and
/// network names are splitnet's. Those marked "splitnet's own" are not Multus flags.
struct Options {
    std::string cni_bin_dir = "/host/opt/cni/bin";
    std::string cni_conf_dir = "/host/etc/cni/net.d";
    std::string cni_version;                  ///< when set, must equal the master's cniVersion
    std::string conf_file = "auto";           ///< --multus-conf-file: "auto" or a file to copy
    std::string bin_file = "/proc/self/exe";  ///< --multus-bin-file: the binary to install
    std::string multus_cni_conf_dir = "/host/etc/cni/multus/net.d";  ///< created, like Multus
    /// The kubeconfig's path on the host, written into the config. Empty: the default above
    /// when the installer writes a kubeconfig (it runs in a pod), else no "kubeconfig" key at
    /// all (a node image: the plugin then works without the API, NADs from files).
    std::string kubeconfig_host_path;
    std::string master_file_name;
    std::string global_namespaces;
    std::string autoconfig_dir = "/host/etc/cni/net.d";
    std::string log_level;
    std::string log_file;
    std::string readiness_indicator_file;
    std::string additional_bin_dir;
    // splitnet's own.
    std::vector<std::string> cluster_cidrs;  ///< --cluster-cidrs: the egress "cluster" preset
    /// --cluster-dns: the cluster DNS Service IP, written as "clusterDNS" (egress.dns) and where
    /// the agent's DNS split forwards cluster names. Empty: egress.dns is refused at ADD.
    std::string cluster_dns;
    std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    std::chrono::milliseconds watch_interval{std::chrono::seconds(1)};
    /// --remove-taint: a taint key removed from this node (env NODE_NAME) once the node config
    /// is in place (the chart's default: splitnet.io/agent-not-ready). Empty: none.
    std::string remove_taint;
    /// --metrics-bind-address: HOST:PORT of /metrics and /healthz, "0" for none.
    std::string metrics_bind_address = "127.0.0.1:9234";
    /// --gateway-probe-interval: how often every egress pod's VPN gateway is probed.
    std::chrono::milliseconds gateway_probe_interval{std::chrono::seconds(10)};

    // Booleans last: the struct packs without holes.
    bool force_cni_version = false;
    bool skip_binary_copy = false;
    bool namespace_isolation = false;
    bool log_to_stderr = true;
    bool override_network_name = false;
    bool cleanup_config_on_exit = false;
    bool skip_config_watch = false;
    bool rename_conf_file = false;
    bool skip_tls_verify = false;
    bool guard_bypassed_pods = true;  ///< splitnet's own: the bypassed-pod guard (agent/)
    bool once = false;  ///< splitnet's own: install, then exit (init containers, node images)
    bool help = false;
};

/// Parses the arguments after `install`: `--name=value` or `--name value`; a boolean may be
/// given bare (`--once`) or as `--name=true|false`. Throws cni::Error(InvalidNetworkConfig)
/// naming the flag for an unknown flag, a missing value or a bad boolean, number or CIDR.
Options parse_options(const std::vector<std::string>& args);

/// The flag list for --help.
std::string usage();

}  // namespace splitnet::install
