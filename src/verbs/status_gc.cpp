#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/verbs/context.hpp"
#include "splitnet/verbs/preflight.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

plan::Attachment primary_attachment(Context& ctx) {
    const auto specs = ctx.source.resolve_fallback(ctx.conf, ctx.request);
    auto attachments = plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/false);
    if (attachments.empty()) {
        throw cni::Error(cni::ErrorCode::NotAvailable, "no primary network is configured");
    }
    return attachments.front();
}

// cni.dev/valid-attachments, or the key's name before cni#1101.
std::set<std::string> valid_containers(const json& raw, json& keys) {
    std::set<std::string> ids;
    for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
        const auto it = raw.find(key);
        if (it == raw.end() || !it->is_array()) {
            continue;
        }
        keys[key] = *it;
        for (const auto& entry : *it) {
            if (entry.is_object() && entry.contains("containerID") &&
                entry["containerID"].is_string()) {
                ids.insert(entry["containerID"].get<std::string>());
            }
        }
    }
    return ids;
}

}  // namespace

void run_status(Context& ctx) {
    if (!readiness_ok(ctx.conf.readiness_indicator_file)) {
        throw cni::Error(cni::ErrorCode::NotAvailable,
                         fmt::format("readinessindicatorfile {} does not exist",
                                     ctx.conf.readiness_indicator_file),
                         "the primary CNI is not ready yet");
    }
    const auto primary = primary_attachment(ctx);
    const auto net = attachment_network(primary, ctx.conf);
    delegate::status_network(ctx.invoker, net, attachment_runtime(primary, ctx));
}

void run_gc(Context& ctx) {
    json keys = json::object();
    const auto valid = valid_containers(ctx.conf.raw, keys);
    std::optional<cni::Error> first;

    // Our own state: an attachment set the runtime no longer lists is deleted (its secondary
    // IPAM leases are ours to release: the runtime only knows about the primary).
    // Without a list (cnitool gc) nothing is known to be stale: never guess.
    for (const auto& id : keys.empty() ? std::vector<std::string>{} : ctx.store.list()) {
        if (valid.contains(id)) {
            continue;
        }
        const auto lock = ctx.store.lock(id);
        auto state = ctx.store.load(id);
        if (!state) {
            continue;
        }
        Context stale{ctx.request, ctx.conf, ctx.invoker, ctx.source, ctx.store};
        stale.request.container_id = id;
        stale.request.netns = state->netns;
        spdlog::info("GC: deleting stale attachments of container {}", id);
        rollback_attachments(stale, state->attachments, state->attachments.size());
        ctx.store.remove(id);
    }

    const auto specs = ctx.source.resolve_fallback(ctx.conf, ctx.request);
    for (const auto& attachment : plan::build_plan(specs, ctx.conf, ctx.request, false)) {
        try {
            delegate::gc_network(ctx.invoker, attachment_network(attachment, ctx.conf),
                                 attachment_runtime(attachment, ctx), keys);
        } catch (const cni::Error& e) {
            spdlog::warn("GC of network \"{}\" failed: {}", attachment.network, e.what());
            if (!first) {
                first = e;
            }
        }
    }
    if (first) {
        throw cni::Error(*first);
    }
}

}  // namespace splitnet::verbs
