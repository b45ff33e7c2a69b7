#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/cni/request.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/plan/delegate_spec.hpp"

namespace splitnet::plan {

/// One attachment of the pod, fully decided: what the state file stores and DEL replays.
struct Attachment {
    std::string network;  ///< DelegateSpec::name
    std::string ifname;
    std::string config;  ///< exact conf/conflist bytes
    nlohmann::json runtime_config = nlohmann::json::object();
    std::string cni_args;
    bool is_primary = false;
    std::optional<Selection> selection;
};

/// Pod identity from CNI_ARGS (K8S_POD_*).
struct PodRef {
    std::string namespace_;
    std::string name;
    std::string uid;
    std::string infra_container_id;
};

PodRef pod_ref_from_args(const std::string& cni_args);

/// CNI_ARGS of one attachment in Multus' order (IgnoreUnknown, K8S_POD_*, the runtime's pairs),
/// plus MAC=/IP= from the selection on ADD.
std::string attachment_cni_args(const std::string& runtime_args, const Selection* selection,
                                bool for_add);

/// Decides ifnames (requested > primary gets CNI_IFNAME > net<idx> over the full list), per
/// attachment CNI_ARGS (Multus order, plus IP=/MAC= on ADD) and runtimeConfig, and merges
/// cni-args into args.cni. Pure.
std::vector<Attachment> build_plan(const std::vector<DelegateSpec>& specs,
                                   const config::MetaConf& conf, const cni::Request& request,
                                   bool for_add);

}  // namespace splitnet::plan
