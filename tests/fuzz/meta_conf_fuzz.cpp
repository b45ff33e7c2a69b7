// stdin of the plugin: the meta config (trusted, but written by hand on every node: it must never
// take the plugin down), then what ADD derives from it without the API or the filesystem: the
// inline delegates (re-marshalled, checked) and the attachment plan.

#include "fuzz_support.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/k8s/nad_resolver.hpp"
#include "splitnet/plan/plan.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(meta_conf) {
    const auto conf = config::parse_meta_conf(input);
    // clusterNetwork and defaultNetworks name files: not followed here.
    if (!conf.cluster_network.empty()) {
        return;
    }
    const auto specs = k8s::resolve_delegates(conf, nullptr, std::nullopt);
    cni::Request request;
    request.verb = cni::Verb::Add;
    request.container_id = "fuzz";
    request.ifname = "eth0";
    request.args = "K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod";
    (void)plan::build_plan(specs, conf, request, true);
}
