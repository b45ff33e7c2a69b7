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

// The attachments the runtime still has: cni.dev/valid-attachments, or the key's name before
// cni#1101. An entry without an ifname keeps every attachment of its container.
struct ValidAttachments {
    std::set<store::StateKey> keys;
    std::set<std::string> whole_containers;

    [[nodiscard]] bool empty() const { return keys.empty() && whole_containers.empty(); }

    [[nodiscard]] bool contains(const store::StateKey& key) const {
        return keys.contains(key) || whole_containers.contains(key.container_id);
    }
};

ValidAttachments valid_attachments(const json& raw, json& keys) {
    ValidAttachments valid;
    for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
        const auto it = raw.find(key);
        if (it == raw.end() || !it->is_array()) {
            continue;
        }
        keys[key] = *it;
        for (const auto& entry : *it) {
            if (!entry.is_object() || !entry.contains("containerID") ||
                !entry["containerID"].is_string()) {
                continue;
            }
            auto id = entry["containerID"].get<std::string>();
            const auto ifname = entry.find("ifname");
            if (ifname != entry.end() && ifname->is_string() && !ifname->empty()) {
                valid.keys.insert({std::move(id), ifname->get<std::string>()});
            } else {
                valid.whole_containers.insert(std::move(id));
            }
        }
    }
    return valid;
}

// DEL of one stale attachment set; what cannot be removed stays in its state for the next GC or
// DEL. Returns the error to report, if any.
std::optional<cni::Error> collect(Context& ctx, const store::StateKey& key) {
    const auto lock = ctx.store.lock(key, store::LockMode::BestEffort);
    auto state = ctx.store.load(key);
    if (!state) {
        return std::nullopt;
    }
    Context stale{ctx.request, ctx.conf, ctx.invoker, ctx.source, ctx.store};
    stale.request.container_id = key.container_id;
    stale.request.ifname = key.ifname;
    stale.request.netns = state->netns;
    spdlog::info("GC: deleting stale attachments of container {} ({})", key.container_id,
                 key.ifname);
    try {
        stop_unfinished_add(*state);
        auto left = rollback_attachments(stale, state->attachments, state->attachments.size());
        if (!left.empty()) {
            state->attachments = std::move(left);
            ctx.store.save(*state);
            return cni::Error(cni::ErrorCode::Other,
                              fmt::format("GC: {} attachment(s) of container {} ({}) could not be "
                                          "deleted",
                                          state->attachments.size(), key.container_id, key.ifname),
                              "kept in the state; the next GC or DEL retries them");
        }
        ctx.store.remove(key, state->from_legacy_file);
        if (lock.valid()) {
            ctx.store.remove_lock_file(key);
        }
    } catch (const cni::Error& e) {
        return e;
    }
    return std::nullopt;
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
    const auto valid = valid_attachments(ctx.conf.raw, keys);
    std::optional<cni::Error> first;

    // Our own state: an attachment the runtime no longer lists is deleted (its secondary IPAM
    // leases are ours to release: the runtime only knows about the primary).
    // Without a list (cnitool gc) nothing is known to be stale: never guess.
    for (const auto& key : valid.empty() ? std::vector<store::StateKey>{} : ctx.store.list()) {
        if (valid.contains(key)) {
            continue;
        }
        if (auto error = collect(ctx, key); error && !first) {
            first = std::move(error);
        }
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
