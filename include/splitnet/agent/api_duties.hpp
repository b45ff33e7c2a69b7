#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "splitnet/cni/request.hpp"

namespace splitnet::k8s {
class ApiClient;
}

namespace splitnet::agent {

/// What the node agent's API-side duties need from `splitnet install`'s flags.
struct ApiDutiesOptions {
    bool guard_bypassed_pods = true;  ///< --guard-bypassed-pods
    std::string remove_taint;         ///< --remove-taint (empty: none)
    std::string service_account_dir;  ///< --service-account-dir
    /// The guard looks at the node's pods every this many ticks (one tick per watch interval).
    unsigned guard_every_ticks = 10;
};

/// The node agent's API duties, run from `splitnet install`'s watch loop: removing the
/// --remove-taint taint from this node once the node config is in place, and the bypassed-pod
/// guard (see guard.hpp for which pods, and docs/node-agent.md). The node is env NODE_NAME; the
/// API is reached with the pod's in-cluster service account. Without either, both duties are
/// off (said once in the log). Failures are logged (once per distinct message) and retried on a
/// later tick; they never stop the installer.
class ApiDuties {
public:
    ApiDuties(ApiDutiesOptions options, cni::Getenv getenv);
    ~ApiDuties();
    ApiDuties(const ApiDuties&) = delete;
    ApiDuties& operator=(const ApiDuties&) = delete;
    ApiDuties(ApiDuties&&) = delete;
    ApiDuties& operator=(ApiDuties&&) = delete;

    /// One tick, after the installer's sync. `configured`: the node config is in place. Nothing
    /// happens before it is: a pod deleted while the config is missing would only come back
    /// bypassed again, and the taint keeps pods off the node until then. `writes_status`: that
    /// config names a kubeconfig, so splitnet writes each pod's network-status. Without it every
    /// pod that asks for a network would look bypassed: the guard does not run (said once).
    void tick(bool configured, bool writes_status);

private:
    std::unique_ptr<k8s::ApiClient> connect();
    void remove_taint(k8s::ApiClient& client);
    void guard(k8s::ApiClient& client);
    void report(const std::string& problem);

    ApiDutiesOptions options_;
    cni::Getenv getenv_;
    std::string node_;
    bool active_ = false;
    bool taint_done_ = false;
    bool told_no_status_ = false;
    unsigned ticks_ = 0;
    std::string last_problem_;
};

}  // namespace splitnet::agent
