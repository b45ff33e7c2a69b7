// Bodies of Kubernetes API responses: a pod (metadata and annotations, then the networks it asks
// for) and a NetworkAttachmentDefinition (spec.config with name injection, then the delegate
// checks). The first byte picks which; the rest is the body as the server sent it.

#include "fuzz_support.hpp"
#include "splitnet/config/conf_files.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/nad_resolver.hpp"
#include "splitnet/k8s/pod_source.hpp"

using namespace splitnet;

namespace {

// A confDir that does not exist: a NAD without spec.config then fails cleanly.
constexpr const char* kNoConfDir = "/nonexistent/splitnet-fuzz/net.d";

void pod_body(const nlohmann::json& body) {
    plan::PodRef ref{"default", "pod", "", "infra"};
    const auto pod = k8s::pod_from_body(body, ref);
    // The annotations it carries, as resolve_delegates reads them (no API: the NAD lookups fail
    // cleanly after parsing).
    config::MetaConf conf;
    conf.delegates.push_back(
        nlohmann::json{{"cniVersion", "1.0.0"}, {"name", "p"}, {"type", "ptp"}});
    (void)k8s::resolve_delegates(conf, nullptr, pod);
}

void nad_body(const nlohmann::json& body) {
    const auto config = k8s::nad_config(body, "fuzz-nad", kNoConfDir);
    (void)config::check_delegate_config(config);
    (void)delegate::parse_network_config(config);
}

}  // namespace

SPLITNET_FUZZ_TARGET(api_body) {
    if (input.empty()) {
        return;
    }
    const bool is_pod = (input.front() & 1) != 0;
    input.remove_prefix(1);
    const auto body = k8s::parse_response_body(input);
    (void)k8s::status_message(k8s::ApiResponse{404, body});
    if (!body.is_object()) {  // what get_pod and fetch_nad accept
        return;
    }
    if (is_pod) {
        pod_body(body);
    } else {
        nad_body(body);
    }
}
