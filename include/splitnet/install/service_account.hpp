#pragma once

#include <string>

#include "splitnet/k8s/kubeconfig.hpp"

namespace splitnet::install {

/// The kubeconfig `splitnet install` writes for the plugin from the installer pod's in-cluster
/// access (k8s::in_cluster_access: the `kubernetes` Service address, the service account's token
/// and CA): CA and token inlined, as Multus writes it, or insecure-skip-tls-verify instead of
/// the CA. The token and server are quoted, so no content can change the YAML's structure.
/// Pure.
std::string service_account_kubeconfig(const k8s::ClusterAccess& access, bool skip_tls_verify);

}  // namespace splitnet::install
