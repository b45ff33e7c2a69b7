#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/verbs/context.hpp"

namespace splitnet::verbs {
namespace {

std::vector<plan::DelegateSpec> inline_specs(const config::MetaConf& conf) {
    std::vector<plan::DelegateSpec> specs;
    for (std::size_t i = 0; i < conf.delegates.size(); ++i) {
        const auto& delegate = conf.delegates[i];
        plan::DelegateSpec spec;
        spec.name = delegate.value("name", std::string());
        if (spec.name.empty()) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("delegate {} has no \"name\"", i),
                             "every entry of \"delegates\" needs a network name");
        }
        spec.config = util::dump_json(delegate);
        spec.is_primary = i == 0;
        specs.push_back(std::move(spec));
    }
    return specs;
}

}  // namespace

std::vector<plan::DelegateSpec> InlineSource::resolve_for_add(const config::MetaConf& conf,
                                                              const cni::Request& /*request*/) {
    if (conf.delegates.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         "at least one delegate/clusterNetwork must be specified",
                         conf.cluster_network.empty()
                             ? "add a \"delegates\" list whose first entry is the cluster network"
                             : "clusterNetwork needs Kubernetes access (\"kubeconfig\")");
    }
    return inline_specs(conf);
}

std::vector<plan::DelegateSpec> InlineSource::resolve_fallback(const config::MetaConf& conf,
                                                               const cni::Request& request) {
    return resolve_for_add(conf, request);
}

delegate::NetworkConfig attachment_network(const plan::Attachment& attachment,
                                           const config::MetaConf& conf) {
    auto net = delegate::parse_network_config(attachment.config);
    if (net.cni_version.empty()) {
        net.cni_version = conf.cni_version;  // as Multus does for delegates without one
    }
    if (net.name.empty()) {
        net.name = attachment.network;
    }
    return net;
}

delegate::RuntimeConf attachment_runtime(const plan::Attachment& attachment, const Context& ctx) {
    delegate::RuntimeConf rt;
    rt.container_id = ctx.request.container_id;
    rt.netns = ctx.request.netns;
    rt.ifname = attachment.ifname;
    rt.cni_args = attachment.cni_args;
    if (!ctx.conf.bin_dir.empty()) {
        rt.cni_path.push_back(ctx.conf.bin_dir);
    }
    for (const auto& dir : ctx.request.cni_path) {
        if (dir != ctx.conf.bin_dir) {
            rt.cni_path.push_back(dir);
        }
    }
    rt.capability_args = attachment.runtime_config;
    rt.timeout = ctx.conf.delegate_timeout;
    return rt;
}

}  // namespace splitnet::verbs
