#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/verbs/context.hpp"
#include "splitnet/verbs/merge.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// Each attachment is checked against its own result: from our state when we have it, else the
// runtime's merged prevResult split back per attachment.
std::vector<store::AttachmentState> attachments_to_check(Context& ctx) {
    if (auto state = ctx.store.load(request_key(ctx))) {
        return std::move(state->attachments);
    }
    const auto specs = ctx.source.resolve_fallback(ctx.conf, ctx.request);
    std::vector<store::AttachmentState> out;
    std::vector<std::string> ifnames;
    for (auto& attachment : plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/false)) {
        ifnames.push_back(attachment.ifname);
        out.push_back({std::move(attachment), nullptr});
    }
    const auto merged = cni::parse_result(ctx.conf.prev_result, ctx.conf.cni_version);
    const auto parts = split_result(merged, ifnames);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].result = cni::result_to_json(parts[i], ctx.conf.cni_version);
    }
    return out;
}

// Plugins chained after splitnet (tuning, sbr) may have changed what the runtime now holds, e.g.
// eth0's MAC: take each interface's MAC and MTU from the runtime's prevResult, by name.
nlohmann::json with_runtime_interfaces(const nlohmann::json& stored, const cni::Result& runtime,
                                       const std::string& version) {
    auto result = cni::parse_result(stored, version);
    for (auto& iface : result.interfaces) {
        for (const auto& seen : runtime.interfaces) {
            if (seen.name == iface.name && seen.sandbox == iface.sandbox) {
                iface.mac = seen.mac;
                if (seen.mtu) {
                    iface.mtu = seen.mtu;
                }
            }
        }
    }
    return cni::result_to_json(result, version);
}

}  // namespace

void run_check(Context& ctx) {
    if (ctx.conf.prev_result.is_null()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig, "required prevResult missing",
                         "CHECK needs the ADD result as prevResult");
    }
    const auto lock = ctx.store.lock(request_key(ctx), store::LockMode::BestEffort);
    const auto attachments = attachments_to_check(ctx);
    const auto runtime = cni::parse_result(ctx.conf.prev_result, ctx.conf.cni_version);
    for (std::size_t i = 0; i < attachments.size(); ++i) {
        const auto& state = attachments[i];
        auto net = attachment_network(state.attachment, ctx.conf);
        add_egress_context(
            net, ctx, {attachments.begin(), attachments.begin() + static_cast<std::ptrdiff_t>(i)});
        const auto rt = attachment_runtime(state.attachment, ctx);
        if (state.result.is_null()) {
            throw cni::Error(cni::ErrorCode::UnknownContainer,
                             fmt::format("network \"{}\" ({}) was never added",
                                         state.attachment.network, state.attachment.ifname));
        }
        const auto prev = with_runtime_interfaces(state.result, runtime, net.cni_version);
        try {
            delegate::check_network(ctx.invoker, net, rt, prev);
        } catch (const cni::Error& e) {
            throw cni::Error(
                e.code(),
                fmt::format("CHECK of network \"{}\" ({}) failed: {}", state.attachment.network,
                            state.attachment.ifname, e.what()),
                e.details(), e.sys_errno());
        }
    }
}

}  // namespace splitnet::verbs
