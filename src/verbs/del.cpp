#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/verbs/context.hpp"

namespace splitnet::verbs {
namespace {

// Where DEL learns what to delete: our state, else a Go Multus cache (migration), else the
// config as it is now. Unlike Multus, a missing cache never means "delete nothing": the primary
// must always get its DEL, or its IPAM leaks the pod's address.
std::vector<store::AttachmentState> attachments_to_delete(Context& ctx, bool& from_state) {
    from_state = false;
    if (auto state = ctx.store.load(ctx.request.container_id)) {
        from_state = true;
        return std::move(state->attachments);
    }
    std::vector<store::AttachmentState> out;
    if (auto cached = ctx.source.multus_cache(ctx.conf, ctx.request)) {
        spdlog::info("no splitnet state; deleting from the Go Multus cache");
        return std::move(*cached);
    }
    spdlog::info("no splitnet state; deleting the networks the config names now");
    const auto specs = ctx.source.resolve_fallback(ctx.conf, ctx.request);
    for (auto& attachment : plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/false)) {
        out.push_back({std::move(attachment), nullptr});
    }
    return out;
}

}  // namespace

void run_del(Context& ctx) {
    const auto lock = ctx.store.lock(ctx.request.container_id);
    bool from_state = false;
    auto attachments = attachments_to_delete(ctx, from_state);
    std::vector<std::string> failures;
    std::optional<cni::Error> first;
    for (std::size_t i = attachments.size(); i-- > 0;) {  // in reverse: last added, first gone
        const auto& item = attachments[i];
        try {
            delete_attachment(ctx, item);
        } catch (const cni::Error& e) {
            if (!from_state && !item.attachment.is_primary) {
                // Without state we only guess that this attachment exists (e.g. ADD failed and
                // rolled it back): an old plugin's "not found" must not make the DEL fail forever.
                spdlog::warn("DEL of network \"{}\" ({}) without state: {}",
                             item.attachment.network, item.attachment.ifname, e.what());
                continue;
            }
            failures.push_back(fmt::format("network \"{}\" ({}): {}", item.attachment.network,
                                           item.attachment.ifname, e.what()));
            if (!first) {
                first = e;
            }
        } catch (const std::exception& e) {
            failures.push_back(fmt::format("network \"{}\" ({}): {}", item.attachment.network,
                                           item.attachment.ifname, e.what()));
            if (!first) {
                first = cni::Error(cni::ErrorCode::Internal, e.what());
            }
        }
    }
    const bool keep_state =
        first && ctx.conf.retry_delete_on_error &&
        std::string(first->what()).find("no such file or directory") == std::string::npos;
    if (!keep_state) {
        ctx.store.remove(ctx.request.container_id);
    }
    if (first) {
        throw cni::Error(first->code(), fmt::format("errors: {}", fmt::join(failures, " / ")),
                         first->details());
    }
    spdlog::info("deleted {} attachment(s)", attachments.size());
}

}  // namespace splitnet::verbs
