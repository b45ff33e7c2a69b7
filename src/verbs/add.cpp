#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/delegate/leftovers.hpp"
#include "splitnet/delegate/plugin_type.hpp"
#include "splitnet/plan/default_route.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/rollback.hpp"
#include "splitnet/verbs/context.hpp"
#include "splitnet/verbs/default_route.hpp"
#include "splitnet/verbs/merge.hpp"
#include "splitnet/verbs/preflight.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// DEL of one attachment during rollback or DEL; errors are the caller's to judge.
void del_attachment(Context& ctx, const store::AttachmentState& state) {
    auto net = attachment_network(state.attachment, ctx.conf);
    add_egress_context(net, ctx, {});  // egress.dns: which address DEL takes off the pod's lo
    const auto rt = attachment_runtime(state.attachment, ctx);
    json prev;
    if (!state.result.is_null()) {
        prev =
            cni::result_to_json(cni::parse_result(state.result, net.cni_version), net.cni_version);
    }
    delegate::del_network(ctx.invoker, net, rt, prev.is_null() ? nullptr : &prev);
}

}  // namespace

// Native plugins with an egress policy need to know the cluster side; they get it as a key of
// their own config at call time (never stored, never sent to an exec'd plugin without egress).
void add_egress_context(delegate::NetworkConfig& net, const Context& ctx,
                        const std::vector<store::AttachmentState>& done) {
    for (auto& plugin : net.plugins) {
        if (!plugin.contains("egress")) {
            continue;
        }
        json context = {{"clusterCIDRs", ctx.conf.cluster_cidrs}};
        if (!ctx.conf.cluster_dns.empty()) {
            context["clusterDNS"] = ctx.conf.cluster_dns;
        }
        if (!done.empty() && done.front().attachment.is_primary) {
            context["primaryIfname"] = done.front().attachment.ifname;
            context["primaryResult"] = done.front().result;
        }
        plugin["splitnetContext"] = std::move(context);
    }
}

std::vector<store::AttachmentState> rollback_attachments(
    Context& ctx, const std::vector<store::AttachmentState>& attachments, std::size_t count) {
    std::vector<store::AttachmentState> left;
    for (std::size_t i = count; i-- > 0;) {
        try {
            del_attachment(ctx, attachments[i]);
        } catch (const std::exception& e) {
            spdlog::warn("rollback: DEL of network \"{}\" ({}) failed: {}",
                         attachments[i].attachment.network, attachments[i].attachment.ifname,
                         e.what());
            left.insert(left.begin(), attachments[i]);
        }
    }
    return left;
}

store::StateKey request_key(const Context& ctx) {
    return {ctx.request.container_id, ctx.request.ifname};
}

void stop_unfinished_add(const store::State& state) {
    // Bounded: SIGKILL takes effect at once unless a process sits in an uninterruptible wait.
    constexpr auto kBound = std::chrono::seconds(10);
    if (state.phase == store::Phase::Added || state.add_tag.empty()) {
        return;
    }
    const auto killed = delegate::stop_tagged_processes(state.add_tag, kBound);
    if (killed > 0) {
        spdlog::warn("stopped {} process(es) an unfinished ADD left running", killed);
    }
}

void delete_attachment(Context& ctx, const store::AttachmentState& state) {
    del_attachment(ctx, state);
}

namespace {

// An ADD of an attachment that still has state: the runtime normally DELs a failed ADD before
// retrying it, but one that did not (or whose DEL failed) must not trip over the leftovers of
// an unfinished ADD: they are removed first, as DEL would. A finished ADD is not undone: the
// runtime must DEL it (CNI: ADD twice for one attachment is an error).
void clean_up_unfinished_add(Context& ctx, const store::StateKey& key) {
    auto earlier = ctx.store.load(key);
    if (!earlier) {
        return;
    }
    if (earlier->phase == store::Phase::Added) {
        throw cni::Error(
            cni::ErrorCode::InvalidNetworkConfig,
            fmt::format("container {} already has attachment {}", key.container_id, key.ifname),
            "DEL it before adding it again");
    }
    spdlog::warn("an earlier ADD of this attachment did not finish; removing what it left");
    stop_unfinished_add(*earlier);
    Context earlier_ctx{ctx.request, ctx.conf, ctx.invoker, ctx.source, ctx.store};
    earlier_ctx.request.netns = earlier->netns;
    auto left =
        rollback_attachments(earlier_ctx, earlier->attachments, earlier->attachments.size());
    if (!left.empty()) {
        std::vector<std::string> names;
        names.reserve(left.size());
        for (const auto& a : left) {
            names.push_back(fmt::format("\"{}\" ({})", a.attachment.network, a.attachment.ifname));
        }
        earlier->attachments = std::move(left);
        ctx.store.save(*earlier);
        throw cni::Error(cni::ErrorCode::TryAgainLater,
                         fmt::format("an earlier ADD left network(s) {} that cannot be removed",
                                     fmt::join(names, ", ")),
                         "see the log for why; DEL retries them");
    }
    ctx.store.remove(key, earlier->from_legacy_file);
}

json add_pod_networks(Context& ctx) {
    wait_for_readiness(ctx.conf.readiness_indicator_file, ctx.conf.readiness_timeout);
    const auto key = request_key(ctx);
    const auto lock = ctx.store.lock(key);
    clean_up_unfinished_add(ctx, key);

    const auto specs = ctx.source.resolve_for_add(ctx.conf, ctx.request);
    const auto attachments = plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/true);
    // ECMP requests, and those that would undo an egress policy, are refused before anything
    // exists in the pod.
    const auto default_routes = plan::plan_default_routes(attachments);
    if (default_routes) {
        check_default_routes_keep_egress(attachments, *default_routes);
    }
    std::vector<delegate::NetworkConfig> networks;
    networks.reserve(attachments.size());
    for (const auto& attachment : attachments) {
        networks.push_back(attachment_network(attachment, ctx.conf));
        // Networks may come from NADs or confDir files anyone in a namespace can write: each of
        // their plugins must be a plain plugin name, never a meta-plugin (checked before any
        // attachment is made, not when the failing network's turn comes).
        delegate::check_plugin_types(networks.back(), attachment.network);
    }
    check_ifnames(attachments, ctx.request.netns);

    store::State state;
    state.container_id = key.container_id;
    state.ifname = key.ifname;
    state.cni_version = ctx.conf.cni_version;
    state.netns = ctx.request.netns;
    state.phase = store::Phase::Adding;
    state.add_tag = delegate::new_add_tag();
    for (const auto& attachment : attachments) {
        state.attachments.push_back({attachment, nullptr});
    }
    // The plan and the tag of every process this ADD starts are on disk before the first side
    // effect, so DEL after a kill (even mid-delegate) stops them and removes what they did.
    ctx.store.save(state);
    util::kill_point("state-saved");

    std::size_t added = 0;
    std::size_t failing_plugins_added = 0;  // of the attachment being added
    util::Rollback undo([&] {
        auto left = rollback_attachments(ctx, state.attachments, added);
        // The attachment whose own ADD failed got its DEL above, best effort. When not one
        // plugin of it succeeded, its plugin answered with an error and made nothing that is ours
        // to undo; a DEL it cannot do now (its binary is missing or refused, or the reference
        // macvlan without its master) would fail on every retry and keep the sandbox from ever
        // being removed. A list that got part of the way (macvlan made, tuning failed) is kept.
        if (failing_plugins_added == 0) {
            std::erase_if(left, [](const store::AttachmentState& a) { return a.result.is_null(); });
        }
        if (left.empty()) {
            ctx.store.remove(key);
            ctx.store.remove_lock_file(key);
            return;
        }
        // What could not be removed stays in the state, so the runtime's DEL retries it and a
        // retried ADD does not trip over it.
        state.attachments = std::move(left);
        ctx.store.save(state);
    });
    for (std::size_t i = 0; i < attachments.size(); ++i) {
        const auto& attachment = attachments[i];
        auto net = networks[i];
        add_egress_context(net, ctx,
                           {state.attachments.begin(),
                            state.attachments.begin() + static_cast<std::ptrdiff_t>(i)});
        auto rt = attachment_runtime(attachment, ctx);
        rt.add_tag = state.add_tag;
        spdlog::debug("adding network \"{}\" as {}", attachment.network, attachment.ifname);
        try {
            // Counted before the call: a failed ADD may have left parts behind, and its DEL
            // cleans them up (as the runtime would).
            added = i + 1;
            failing_plugins_added = 0;
            state.attachments[i].result =
                delegate::add_network(ctx.invoker, net, rt, &failing_plugins_added);
        } catch (const cni::Error& e) {
            throw cni::Error(e.code(),
                             fmt::format("error adding network \"{}\" ({}): {}", attachment.network,
                                         attachment.ifname, e.what()),
                             e.details());
        }
        ctx.store.save(state);
        util::kill_point("attachment-added");
    }

    if (default_routes) {
        // A failure here fails the ADD and the rollback removes every attachment: a pod whose
        // default route is not what it asked for (e.g. still leaving through eth0 instead of
        // the VPN) must not start. Multus returns the error without rollback.
        apply_default_routes(ctx.request.netns, *default_routes);
        for (std::size_t i = 0; i < state.attachments.size(); ++i) {
            rewrite_default_routes(state.attachments[i].result, (*default_routes)[i]);
        }
        // CHECK and DEL replay these results: they now say which default routes exist.
        ctx.store.save(state);
    }

    std::vector<AttachmentResult> results;
    for (const auto& done : state.attachments) {
        results.push_back({done.attachment.ifname, done.result});
    }
    json out;
    if (ctx.conf.result_mode == config::ResultMode::Primary) {
        out = cni::result_to_json(cni::parse_result(results.front().result, ctx.conf.cni_version),
                                  ctx.conf.cni_version);
    } else {
        out = cni::result_to_json(merge_results(results, ctx.request.netns, ctx.conf.cni_version),
                                  ctx.conf.cni_version);
    }
    ctx.source.after_add(ctx.conf, ctx.request, state.attachments);
    // Nothing of this ADD runs any more: DEL need not look for leftovers.
    state.phase = store::Phase::Added;
    ctx.store.save(state);
    util::kill_point("added");
    undo.dismiss();
    spdlog::info("added {} attachment(s)", state.attachments.size());
    return out;
}

}  // namespace

json run_add(Context& ctx) {
    // The source hears of a failure once add_pod_networks has rolled back (its Rollback ran while
    // the exception left it) and released the lock, with the error the runtime is about to get.
    try {
        return add_pod_networks(ctx);
    } catch (const cni::Error& e) {
        ctx.source.add_failed(ctx.conf, ctx.request, e);
        throw;
    } catch (const std::exception& e) {
        ctx.source.add_failed(ctx.conf, ctx.request,
                              cni::Error(cni::ErrorCode::Internal, e.what()));
        throw;
    }
}

}  // namespace splitnet::verbs
