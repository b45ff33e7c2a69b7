#include <algorithm>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/delegate/leftovers.hpp"
#include "splitnet/delegate/plugin_type.hpp"
#include "splitnet/plan/default_route.hpp"
#include "splitnet/util/concurrent.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/rollback.hpp"
#include "splitnet/verbs/context.hpp"
#include "splitnet/verbs/default_route.hpp"
#include "splitnet/verbs/merge.hpp"
#include "splitnet/verbs/preflight.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;

// The plugins add_egress_context gives the primary's result to.
bool plugin_uses_primary_result(const json& plugin) {
    return plugin.contains("egress");
}

}  // namespace

void delete_attachment(Context& ctx, const store::AttachmentState& state) {
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

bool uses_primary_result(const delegate::NetworkConfig& net) {
    return std::any_of(net.plugins.begin(), net.plugins.end(), plugin_uses_primary_result);
}

// Native plugins with an egress policy need to know the cluster side; they get it as a key of
// their own config at call time (never stored, never sent to an exec'd plugin without egress).
void add_egress_context(delegate::NetworkConfig& net, const Context& ctx,
                        const std::vector<store::AttachmentState>& done) {
    for (auto& plugin : net.plugins) {
        if (!plugin_uses_primary_result(plugin)) {
            continue;
        }
        json context = {{"clusterCIDRs", ctx.conf.cluster_cidrs}};
        if (!ctx.conf.cluster_dns.empty()) {
            context["clusterDNS"] = ctx.conf.cluster_dns;
        }
        if (!done.empty() && done.front().attachment.is_primary) {
            context["primaryIfname"] = done.front().attachment.ifname;
            if (!done.front().result.is_null()) {  // null: the primary is being added meanwhile
                context["primaryResult"] = done.front().result;
            }
        }
        plugin["splitnetContext"] = std::move(context);
    }
}

std::vector<store::AttachmentState> rollback_attachments(
    Context& ctx, const std::vector<store::AttachmentState>& attachments, std::size_t count) {
    std::vector<store::AttachmentState> left;
    for (std::size_t i = count; i-- > 0;) {
        try {
            delete_attachment(ctx, attachments[i]);
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

std::size_t plan_index(const std::vector<store::AttachmentState>& planned,
                       const std::string& ifname) {
    for (std::size_t i = 0; i < planned.size(); ++i) {
        if (planned[i].attachment.ifname == ifname) {
            return i;
        }
    }
    throw cni::Error(cni::ErrorCode::Other, fmt::format("no attachment {} in the plan", ifname));
}

bool has_configured_routes(const delegate::NetworkConfig& net) {
    return std::any_of(net.plugins.begin(), net.plugins.end(), [](const json& plugin) {
        const auto ipam = plugin.find("ipam");
        return plugin.contains("routes") ||
               (ipam != plugin.end() && ipam->is_object() && ipam->contains("routes"));
    });
}

// Networks that wait for the primary under "overlap": those given its result, and those with
// configured routes (which of two conflicting routes fails must not depend on timing: the
// primary's goes in first, as in a sequential ADD).
bool runs_after_primary(const delegate::NetworkConfig& net) {
    return uses_primary_result(net) || has_configured_routes(net);
}

// A network given the primary's result that needs it for its egress policy step alone: its last
// plugin is native and the only one with an egress block, so that the policy is the last work of
// the list in either case, and it is run in-process (an exec'd reference plugin knows no steps);
// and it has no configured routes (see above). Under "overlap" it is split there: link,
// addresses and routes side by side with the primary, the policy after it.
bool splits_at_egress(const delegate::NetworkConfig& net, const config::MetaConf& conf) {
    if (conf.disable_native || net.plugins.empty() || has_configured_routes(net)) {
        return false;
    }
    const auto& last = net.plugins.back();
    const auto type = last.find("type");
    return plugin_uses_primary_result(last) && type != last.end() && type->is_string() &&
           attach::is_native_type(type->get_ref<const std::string&>()) &&
           std::none_of(net.plugins.begin(), net.plugins.end() - 1, plugin_uses_primary_result);
}

// What one call of an ADD does to one attachment.
enum class AddStep {
    Whole,
    BeforeEgress,  // a network split at its egress step (splits_at_egress): all but the policy
    Egress,        // then its egress policy, once the primary was added
};

// Tells the native plugin of a split network which part this call does
// (attach::parse_egress_step); it is set after add_egress_context, which replaces the context.
void set_egress_step(delegate::NetworkConfig& net, const char* step) {
    for (auto& plugin : net.plugins) {
        if (plugin_uses_primary_result(plugin)) {
            plugin["splitnetContext"]["egressStep"] = step;
        }
    }
}

// At most this many attachments are added at once.
constexpr std::size_t kMaxConcurrentAdds = 8;

// ADD with "overlap": the primary and every network that need not wait for it are added side by
// side, and so is the part before the egress policy of a network split there; the others, and
// those egress policies, follow one after another, in plan order. The error is the one a
// sequential ADD returns: that of the first attachment in plan order that fails. So a waiting
// network planned before an overlapped one that failed is still added (a sequential ADD would
// have added it), then rolled back with the rest; none planned after the failure is (a split
// network's link is, and goes with the rollback).
void add_overlapped(const config::MetaConf& conf,
                    const std::vector<delegate::NetworkConfig>& networks,
                    const std::function<void(std::size_t, AddStep)>& add_one) {
    const auto count = networks.size();
    std::vector<std::pair<std::size_t, AddStep>> together = {{0, AddStep::Whole}};
    std::vector<std::pair<std::size_t, AddStep>> after_primary;
    for (std::size_t i = 1; i < count; ++i) {
        if (splits_at_egress(networks[i], conf)) {
            together.emplace_back(i, AddStep::BeforeEgress);
            after_primary.emplace_back(i, AddStep::Egress);
        } else {
            (runs_after_primary(networks[i]) ? after_primary : together)
                .emplace_back(i, AddStep::Whole);
        }
    }
    const auto errors = util::run_concurrently(
        together.size(), kMaxConcurrentAdds,
        [&](std::size_t k) { add_one(together[k].first, together[k].second); });
    std::size_t failed = count;  // the first overlapped attachment that failed, in plan order
    std::exception_ptr error;
    for (std::size_t k = 0; k < together.size(); ++k) {
        if (errors[k]) {
            failed = together[k].first;
            error = errors[k];
            break;
        }
    }
    for (const auto& [i, step] : after_primary) {
        if (i >= failed) {
            break;  // a sequential ADD stops at the first failure (at once when the primary failed)
        }
        add_one(i, step);
    }
    if (error) {
        std::rethrow_exception(error);
    }
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

    // Per attachment: whether its ADD was called (a failed ADD may have left parts behind, and
    // its DEL cleans them up, as the runtime would), and how many plugins of its list succeeded.
    // Each worker writes only its own attachment's slots; the rollback reads them after every
    // worker was joined.
    std::vector<char> started(attachments.size(), 0);
    std::vector<std::size_t> plugins_added(attachments.size(), 0);
    std::mutex state_mutex;  // state.attachments and its file, while ADDs run side by side
    util::Rollback undo([&] {
        std::vector<store::AttachmentState> begun;
        for (std::size_t i = 0; i < attachments.size(); ++i) {
            if (started[i] != 0) {
                begun.push_back(state.attachments[i]);
            }
        }
        // Last added, first removed: in reverse plan order, whatever finished first.
        auto left = rollback_attachments(ctx, begun, begun.size());
        // An attachment whose own ADD failed got its DEL above, best effort. When not one plugin
        // of it succeeded, its plugin answered with an error and made nothing that is ours to
        // undo; a DEL it cannot do now (its binary is missing or refused, or the reference
        // macvlan without its master) would fail on every retry and keep the sandbox from ever
        // being removed. A list that got part of the way (macvlan made, tuning failed) is kept.
        std::erase_if(left, [&](const store::AttachmentState& a) {
            const auto i = plan_index(state.attachments, a.attachment.ifname);
            return a.result.is_null() && plugins_added[i] == 0;
        });
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
    // The first step's result of a network split at its egress step, by plan index: the policy
    // step's prevResult. Kept out of the state until the network is added, so that a kill in
    // between leaves the state the plan wrote before the first step (DEL removes the link by
    // name, as after a kill inside a sequential ADD).
    std::vector<json> before_egress(attachments.size());
    const std::vector<store::AttachmentState> primary_planned = {{attachments.front(), nullptr}};
    const auto add_one = [&](std::size_t i, AddStep step) {
        const auto& attachment = attachments[i];
        auto net = networks[i];
        if (step == AddStep::BeforeEgress) {
            // Side by side with the primary: everything but its result (the policy step's).
            add_egress_context(net, ctx, primary_planned);
            set_egress_step(net, "beforePolicy");
        } else if (uses_primary_result(net)) {
            // Added only once every attachment before it was: no worker writes them any more.
            add_egress_context(net, ctx,
                               {state.attachments.begin(),
                                state.attachments.begin() + static_cast<std::ptrdiff_t>(i)});
            if (step == AddStep::Egress) {
                set_egress_step(net, "policy");
            }
        }
        auto rt = attachment_runtime(attachment, ctx);
        rt.add_tag = state.add_tag;
        if (step != AddStep::Egress) {
            spdlog::debug("adding network \"{}\" as {}", attachment.network, attachment.ifname);
            started[i] = 1;  // before the call: see above
        }
        nlohmann::json result;
        try {
            if (step == AddStep::Egress) {
                result = delegate::add_plugin(ctx.invoker, net, net.plugins.back(), rt,
                                              &before_egress[i]);
            } else {
                result = delegate::add_network(ctx.invoker, net, rt, &plugins_added[i]);
            }
        } catch (const cni::Error& e) {
            throw cni::Error(e.code(),
                             fmt::format("error adding network \"{}\" ({}): {}", attachment.network,
                                         attachment.ifname, e.what()),
                             e.details(), e.sys_errno());
        }
        if (step == AddStep::BeforeEgress) {
            before_egress[i] = std::move(result);
            return;
        }
        {
            const std::lock_guard saving(state_mutex);
            state.attachments[i].result = std::move(result);
            ctx.store.save(state);
        }
        util::kill_point("attachment-added");
    };
    if (ctx.conf.overlap) {
        add_overlapped(ctx.conf, networks, add_one);
    } else {
        for (std::size_t i = 0; i < attachments.size(); ++i) {
            add_one(i, AddStep::Whole);
        }
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
    } catch (const net::KernelError& e) {
        const auto error = cni::from_kernel(e);
        ctx.source.add_failed(ctx.conf, ctx.request, error);
        throw error;
    } catch (const std::exception& e) {
        ctx.source.add_failed(ctx.conf, ctx.request, cni::Error(cni::ErrorCode::Other, e.what()));
        throw;
    }
}

}  // namespace splitnet::verbs
