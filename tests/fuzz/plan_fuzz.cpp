// A pod's networks annotation together with the NAD config it selects and the runtime's CNI_ARGS:
// the attachment plan merges the annotation's cni-args into the config and its ips/mac into
// CNI_ARGS and runtimeConfig. Input: annotation NUL config NUL CNI_ARGS.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/config/conf_files.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/plan/plan.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/json.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(plan) {
    const auto parts = fuzz::split_parts(input, 3);
    const auto selections = k8s::parse_network_selection(parts[0], "default", false);
    // resolve_delegates accepts a NAD config only after these checks.
    const auto config = config::inject_network_name(parts[1], "fuzz-nad");
    (void)config::check_delegate_config(config);

    std::vector<plan::DelegateSpec> specs;
    specs.push_back({"primary", R"({"cniVersion":"1.0.0","name":"p","type":"ptp"})", true, {}});
    for (const auto& sel : selections) {
        specs.push_back({"default/fuzz-nad", config, false, sel});
    }
    config::MetaConf conf;
    conf.runtime_config = {{"portMappings", nlohmann::json::array()}, {"ips", {"192.0.2.9/24"}}};
    cni::Request request;
    request.verb = cni::Verb::Add;
    request.container_id = "fuzz";
    request.ifname = "eth0";
    request.args = std::string(parts[2]);
    const auto attachments = plan::build_plan(specs, conf, request, true);

    // ADD writes the plan to the state file before the first side effect.
    store::State state;
    state.container_id = "fuzz";
    state.ifname = "eth0";
    state.cni_version = "1.0.0";
    state.netns = "/var/run/netns/fuzz";
    for (const auto& attachment : attachments) {
        state.attachments.push_back({attachment, nullptr});
    }
    (void)util::dump_json(store::state_to_json(state), 2);
}
