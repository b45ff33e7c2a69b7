#pragma once

#include <string>
#include <string_view>

#include "splitnet/cni/request.hpp"

namespace splitnet::k8s {

/// Everything needed to talk to one API server: the result of kubeconfig or in-cluster discovery.
struct ClusterAccess {
    std::string host;  ///< without brackets for IPv6
    std::string port = "443";
    std::string
        path_prefix;  ///< server URL path, e.g. "/k8s/clusters/c-1" behind a proxy; no trailing '/'
    std::string tls_server_name;  ///< overrides the name checked in the certificate (and SNI)
    std::string ca_pem;           ///< empty: the system trust store
    bool insecure_skip_tls_verify = false;
    std::string token;  ///< bearer token (tokenFile already read)
    std::string username;
    std::string password;
    std::string client_cert_pem;
    std::string client_key_pem;
    std::string source;  ///< where this came from, for error messages

    [[nodiscard]] std::string server() const;  ///< https://host:port[prefix]
};

/// Splits an https:// server URL. Plain http is refused: the token would travel in clear text.
/// The port must be a decimal number from 1 to 65535.
void parse_server_url(std::string_view url, ClusterAccess& access);

/// Parses kubeconfig YAML (current-context -> cluster + user). Relative file paths are resolved
/// against `base_dir` as client-go does. Throws cni::Error naming the missing piece, and (as
/// client-go) when insecure-skip-tls-verify comes with a certificate authority.
ClusterAccess parse_kubeconfig(std::string_view yaml, const std::string& base_dir,
                               const std::string& source = "kubeconfig");

/// Reads and parses a kubeconfig file.
ClusterAccess load_kubeconfig(const std::string& path);

inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

/// True when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are both set (client-go's test).
bool in_cluster_available(const cni::Getenv& getenv);

/// In-cluster config: the service env vars plus token and ca.crt from `sa_dir`.
ClusterAccess in_cluster_access(const cni::Getenv& getenv,
                                const std::string& sa_dir = std::string(kServiceAccountDir));

/// Standard base64 (kubeconfig *-data fields); whitespace ignored. Throws on bad input.
std::string base64_decode(std::string_view text);

}  // namespace splitnet::k8s
