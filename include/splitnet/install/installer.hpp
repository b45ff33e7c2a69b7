#pragma once

#include <optional>
#include <string>
#include <vector>

#include "splitnet/cni/request.hpp"
#include "splitnet/install/options.hpp"

namespace splitnet::install {

/// Puts splitnet on a node and keeps its config current: the side-effect half of `splitnet
/// install` (the contents come from node_config and service_account, which are pure).
class Installer {
public:
    /// `getenv` reads the in-cluster environment (KUBERNETES_SERVICE_HOST/PORT).
    Installer(Options options, cni::Getenv getenv);

    /// Copies --multus-bin-file to <cni-bin-dir>/splitnet: temp file, fsync, rename, so a
    /// runtime that executes the binary meanwhile sees the old one or the new one, whole.
    void install_binary() const;

    /// Removes the temp files that a write of install's killed half-way left beside the binary,
    /// the node config or the kubeconfig (`.<name>.tmp.XXXXXX`, see util::write_file_atomic).
    /// Only one installer runs on a node (the DaemonSet's pod, replaced not surged), so none is
    /// another's write in progress.
    void remove_temp_files() const;

    /// Writes <cni-conf-dir>/splitnet.d/splitnet.kubeconfig from the service account, and the
    /// node config (generated from the master config, or the --multus-conf-file copy), each only
    /// when its content differs from what is on disk: a file somebody deleted or renamed (Cilium
    /// with cni.exclusive) comes back. Returns false while there is no master config yet.
    /// Throws cni::Error for what the operator must fix (unreadable or invalid master, I/O).
    bool sync();

    /// Removes the generated (or copied) node config; the kubeconfig stays (Multus does the
    /// same), so pods that are being torn down can still reach the API.
    void remove_config() const;

    /// Removes what install wrote: <cni-bin-dir>/splitnet, the node config (as remove_config,
    /// and the *.cilium_bak copies Cilium's cni.exclusive renamed it to),
    /// the kubeconfig and its splitnet.d directory (kept, with a warning, when something else is
    /// in it). The master config is not touched. Idempotent: what is gone already is fine.
    void uninstall() const;

    /// The node config file written (or found unchanged) by the last successful sync; empty
    /// before one.
    [[nodiscard]] const std::string& node_config_path() const noexcept { return config_path_; }

private:
    /// The node config's possible file names (both spellings with --multus-conf-file=auto).
    std::vector<std::string> config_names() const;
    void sync_kubeconfig();
    bool sync_auto_config();
    void sync_copied_config();

    Options options_;
    cni::Getenv getenv_;
    std::optional<std::string> last_master_;  ///< file name of the master embedded last
    std::string kubeconfig_in_config_;        ///< the "kubeconfig" written into the config
    std::string config_path_;                 ///< see node_config_path()
    bool told_no_master_ = false;
    bool told_no_service_account_ = false;
};

/// `splitnet install ARGS...`: parses the flags, installs, syncs, then (unless --once) syncs
/// every --watch-interval-ms until SIGTERM or SIGINT, removing the config on the way out with
/// --cleanup-config-on-exit. Logs to stderr; returns the process exit status.
int run_install(const std::vector<std::string>& args, const cni::Getenv& getenv);

/// `splitnet uninstall ARGS...`: install's flags (only the directories and --multus-conf-file
/// matter), then Installer::uninstall. 0 when done, 1 on an I/O error, 2 on a usage error.
int run_uninstall(const std::vector<std::string>& args);

}  // namespace splitnet::install
