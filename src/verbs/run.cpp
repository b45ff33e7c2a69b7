#include "splitnet/verbs/run.hpp"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/leftovers.hpp"
#include "splitnet/delegate/plugin_type.hpp"
#include "splitnet/plan/default_route.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "splitnet/util/concurrent.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/util/rollback.hpp"
#include "splitnet/verbs/default_route.hpp"
#include "splitnet/verbs/merge.hpp"
#include "splitnet/verbs/preflight.hpp"

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
// (egress::parse_egress_step); it is set after add_egress_context, which replaces the context.
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

// An ADD call of one attachment, whose error names the network (the runtime's message).
json named_add(const plan::Attachment& attachment, const std::function<json()>& add) {
    try {
        return add();
    } catch (const cni::Error& e) {
        throw cni::Error(e.code(),
                         fmt::format("error adding network \"{}\" ({}): {}", attachment.network,
                                     attachment.ifname, e.what()),
                         e.details(), e.sys_errno());
    }
}

// The primary as the node config decides it, ready to be started before the pod's networks are
// resolved.
struct EarlyPlan {
    plan::DelegateSpec spec;
    plan::Attachment attachment;
    delegate::NetworkConfig network;
};

// Whether and how the primary can start early: the source knows it without the API, it needs no
// other attachment's result, and its checks pass. Any problem means no early start: the ADD then
// meets it in the order of an ADD without one.
std::optional<EarlyPlan> plan_early_primary(Context& ctx) {
    try {
        auto spec = ctx.source.primary_before_resolve(ctx.conf, ctx.request);
        if (!spec) {
            return std::nullopt;
        }
        auto attachment =
            plan::build_plan({*spec}, ctx.conf, ctx.request, /*for_add=*/true).front();
        auto network = attachment_network(attachment, ctx.conf);
        if (uses_primary_result(network)) {
            return std::nullopt;
        }
        delegate::check_plugin_types(network, attachment.network);
        check_ifnames({attachment}, ctx.request.netns);
        return EarlyPlan{std::move(*spec), std::move(attachment), std::move(network)};
    } catch (const std::exception& e) {
        spdlog::debug("the primary is not started before the pod's networks are known: {}",
                      e.what());
        return std::nullopt;
    }
}

// The primary of an ADD under "overlap", started before the pod's networks are resolved (for
// the Kubernetes source: read from the API), so that its plugin runs meanwhile. Its thread writes
// only the outcome members, which are read once it was joined.
class EarlyPrimary {
public:
    // Default members only; bugprone-exception-escape follows nlohmann::json internals.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    EarlyPrimary() = default;

    ~EarlyPrimary() { join(); }

    EarlyPrimary(const EarlyPrimary&) = delete;
    EarlyPrimary& operator=(const EarlyPrimary&) = delete;
    EarlyPrimary(EarlyPrimary&&) = delete;
    EarlyPrimary& operator=(EarlyPrimary&&) = delete;

    // `add` is the primary's ADD, given where to count its plugins that succeeded. Throws
    // std::system_error when no thread can be started (nothing was started then).
    void start(plan::DelegateSpec spec, std::function<json(std::size_t*)> add) {
        spec_ = std::move(spec);
        thread_ = std::thread([this, add = std::move(add)] {
            try {
                result_ = add(&plugins_added_);
            } catch (...) {
                error_ = std::current_exception();
            }
        });
    }

    [[nodiscard]] const plan::DelegateSpec& spec() const { return spec_; }

    // Waits for the primary's ADD, hands over its result (null when it failed) and how many of
    // its plugins succeeded (once: later calls leave both alone), and returns what it threw.
    std::exception_ptr finish(json& result, std::size_t& plugins_added) {
        join();
        if (!handed_over_) {
            handed_over_ = true;
            result = std::move(result_);
            plugins_added = plugins_added_;
        }
        return error_;
    }

private:
    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    plan::DelegateSpec spec_;
    std::thread thread_;
    json result_;
    std::exception_ptr error_;
    std::size_t plugins_added_ = 0;
    bool handed_over_ = false;
};

json add_pod_networks(Context& ctx) {
    wait_for_readiness(ctx.conf.readiness_indicator_file, ctx.conf.readiness_timeout);
    const auto key = request_key(ctx);
    const auto lock = ctx.store.lock(key);
    clean_up_unfinished_add(ctx, key);

    store::State state;
    state.container_id = key.container_id;
    state.ifname = key.ifname;
    state.cni_version = ctx.conf.cni_version;
    state.netns = ctx.request.netns;
    state.phase = store::Phase::Adding;
    state.add_tag = delegate::new_add_tag();

    // Per attachment of the state: whether its ADD was called (a failed ADD may have left parts
    // behind, and its DEL cleans them up, as the runtime would), and how many plugins of its list
    // succeeded. Each worker writes only its own attachment's slots; the rollback reads them after
    // every worker was joined.
    std::vector<char> started;
    std::vector<std::size_t> plugins_added;
    EarlyPrimary early;
    bool primary_started_early = false;  // attachment 0 of the state is early's
    bool saved = false;                  // a state is on disk: a failure from here on rolls back
    // What the runtime's DEL would do to what this ADD started; returns what could not be
    // removed and is ours to keep.
    const auto roll_back_started = [&] {
        if (primary_started_early) {
            early.finish(state.attachments.front().result, plugins_added.front());
        }
        std::vector<store::AttachmentState> begun;
        for (std::size_t i = 0; i < state.attachments.size(); ++i) {
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
        return left;
    };
    util::Rollback undo([&] {
        if (!saved) {
            return;
        }
        auto left = roll_back_started();
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

    // Under "overlap" a primary that the node config decides is started first, and the pod's
    // networks are resolved while its plugin runs. It is attachment 0 of the plan when the plan
    // starts with it; when the pod names another primary (the default-network annotation), it is
    // removed again before the plan's own is added.
    if (ctx.conf.overlap) {
        if (auto early_plan = plan_early_primary(ctx)) {
            state.attachments = {{early_plan->attachment, nullptr}};
            started = {1};
            plugins_added = {0};
            // On disk before its first side effect, as the plan below.
            ctx.store.save(state);
            saved = true;
            util::kill_point("state-saved");
            auto rt = attachment_runtime(early_plan->attachment, ctx);
            rt.add_tag = state.add_tag;
            spdlog::debug("starting network \"{}\" while the pod's networks are resolved",
                          early_plan->attachment.network);
            try {
                early.start(std::move(early_plan->spec),
                            [&ctx, attachment = std::move(early_plan->attachment),
                             network = std::move(early_plan->network),
                             rt = std::move(rt)](std::size_t* plugins) {
                                return named_add(attachment, [&] {
                                    return delegate::add_network(ctx.invoker, network, rt, plugins);
                                });
                            });
                primary_started_early = true;
            } catch (const std::system_error& e) {
                started = {0};
                spdlog::debug("the primary is not started before the pod's networks are known: {}",
                              e.what());
            }
        }
    }

    const auto specs = ctx.source.resolve_for_add(ctx.conf, ctx.request);
    if (primary_started_early && (specs.empty() || specs.front() != early.spec())) {
        spdlog::info("the pod names its own primary network; removing \"{}\", started before",
                     early.spec().name);
        if (!roll_back_started().empty()) {
            // The rollback keeps it in the state for the runtime's DEL.
            throw cni::Error(cni::ErrorCode::TryAgainLater,
                             fmt::format("network \"{}\", started before the pod's networks were "
                                         "known, cannot be removed",
                                         early.spec().name),
                             "see the log for why; DEL retries it");
        }
        primary_started_early = false;
        state.attachments.clear();
        started.clear();
        plugins_added.clear();
    }
    const auto attachments = plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/true);
    // ECMP requests, and those that would undo an egress policy, are refused before anything
    // exists in the pod (but an early primary).
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
    check_ifnames(attachments, ctx.request.netns, primary_started_early ? 1 : 0);

    // The plan and the tag of every process this ADD starts are on disk before the first side
    // effect (but an early primary's, whose state was saved before it), so DEL after a kill (even
    // mid-delegate) stops them and removes what they did. An early primary's result is not in
    // the state yet: it is handed over below.
    state.attachments.clear();
    for (const auto& attachment : attachments) {
        state.attachments.push_back({attachment, nullptr});
    }
    started.resize(attachments.size(), 0);
    plugins_added.resize(attachments.size(), 0);
    ctx.store.save(state);
    saved = true;
    util::kill_point(primary_started_early ? "plan-saved" : "state-saved");

    std::mutex state_mutex;  // state.attachments and its file, while ADDs run side by side
    // Results not yet in the state. The last one is written by the final save below, together
    // with the phase, unless default routes are changed in between: one state write less
    // after the primary returns, on the ADD's critical path. A kill before that save leaves the
    // state of a kill during the last attachment's ADD, which DEL handles in any case.
    std::size_t results_to_come = attachments.size();
    // The first step's result of a network split at its egress step, by plan index: the policy
    // step's prevResult. Kept out of the state until the network is added, so that a kill in
    // between leaves the state the plan wrote before the first step (DEL removes the link by
    // name, as after a kill inside a sequential ADD).
    std::vector<json> before_egress(attachments.size());
    const std::vector<store::AttachmentState> primary_planned = {{attachments.front(), nullptr}};
    const auto add_one = [&](std::size_t i, AddStep step) {
        const auto& attachment = attachments[i];
        nlohmann::json result;
        if (i == 0 && primary_started_early) {
            if (auto error = early.finish(result, plugins_added[0])) {
                std::rethrow_exception(error);
            }
        } else {
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
            result = named_add(attachment, [&] {
                return step == AddStep::Egress
                           ? delegate::add_plugin(ctx.invoker, net, net.plugins.back(), rt,
                                                  &before_egress[i])
                           : delegate::add_network(ctx.invoker, net, rt, &plugins_added[i]);
            });
        }
        if (step == AddStep::BeforeEgress) {
            before_egress[i] = std::move(result);
            return;
        }
        {
            const std::lock_guard saving(state_mutex);
            state.attachments[i].result = std::move(result);
            if (--results_to_come > 0 || default_routes) {
                ctx.store.save(state);
            }
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
        ctx.source.add_failed(ctx.conf, ctx.request, cni::from_kernel(e));
        throw cni::from_kernel(e);
    } catch (const std::exception& e) {
        ctx.source.add_failed(ctx.conf, ctx.request, cni::Error(cni::ErrorCode::Other, e.what()));
        throw;
    }
}

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

namespace {

// Where DEL learns what to delete.
enum class Origin { State, MultusCache, Config };

// Our state, else a Go Multus cache (migration), else the config as it is now. Unlike Multus, a
// missing cache never means "delete nothing": the primary must always get its DEL, or its IPAM
// leaks the pod's address.
std::vector<store::AttachmentState> attachments_to_delete(Context& ctx,
                                                          const std::optional<store::State>& state,
                                                          Origin& origin) {
    origin = Origin::State;
    if (state) {
        return state->attachments;
    }
    std::vector<store::AttachmentState> out;
    if (auto cached = ctx.source.multus_cache(ctx.conf, ctx.request)) {
        spdlog::info("no splitnet state; deleting from the Go Multus cache");
        origin = Origin::MultusCache;
        return std::move(*cached);
    }
    spdlog::info("no splitnet state; deleting the networks the config names now");
    origin = Origin::Config;
    const auto specs = ctx.source.resolve_fallback(ctx.conf, ctx.request);
    for (auto& attachment : plan::build_plan(specs, ctx.conf, ctx.request, /*for_add=*/false)) {
        out.push_back({std::move(attachment), nullptr});
    }
    return out;
}

// Every failure of one DEL, reported together after everything was attempted.
struct Failures {
    std::vector<std::string> texts;
    std::optional<cni::Error> first;

    void add(std::string text, const cni::Error& error) {
        texts.push_back(std::move(text));
        if (!first) {
            first = error;
        }
    }
};

// Runtimes take a DEL that failed because something is gone (ENOENT: "no such file or
// directory", e.g. the netns) as done and never retry it, as Multus knows: a state kept for a
// retry would never be used.
bool runtime_takes_as_deleted(const cni::Error& error) {
    return error.sys_errno() == ENOENT;
}

// At most this many attachments are deleted at once; more wait for a free worker.
constexpr std::size_t kMaxConcurrentDeletes = 8;

// DEL of every attachment, last added first. Each one is independent of the others (its own
// ifname, its own result as prevResult), and most of a DEL's time is the kernel's wait for
// synchronize_net() as a link goes: with "overlap" they wait together. Returns what each DEL
// threw, by plan index (nullptr: it succeeded); every DEL is attempted either way.
std::vector<std::exception_ptr> delete_all(Context& ctx,
                                           const std::vector<store::AttachmentState>& attachments) {
    const auto count = attachments.size();
    const auto workers = ctx.conf.overlap ? kMaxConcurrentDeletes : std::size_t{1};
    auto outcomes = util::run_concurrently(
        count, workers, [&](std::size_t k) { delete_attachment(ctx, attachments[count - 1 - k]); });
    std::reverse(outcomes.begin(), outcomes.end());  // job k deleted plan index count - 1 - k
    return outcomes;
}

}  // namespace

void run_del(Context& ctx) {
    const auto key = request_key(ctx);
    // A read-only or full cniDir must not keep the delegates from their DEL (their leases would
    // leak): without a lock file there can be no state to race on either.
    const auto lock = ctx.store.lock(key, store::LockMode::BestEffort);
    auto state = ctx.store.load(key);
    if (state) {
        // A killed ADD's delegates (and their children) must not finish after our DEL.
        stop_unfinished_add(*state);
    }
    Origin origin = Origin::State;
    auto attachments = attachments_to_delete(ctx, state, origin);
    const auto outcomes = delete_all(ctx, attachments);
    Failures failures;
    std::vector<store::AttachmentState> left;  // DEL failed: kept for a retry when configured
    // Judged in reverse plan order whatever finished first: the message and the code (the first
    // failure's) are those of a DEL made one attachment after another.
    for (std::size_t i = attachments.size(); i-- > 0;) {
        if (!outcomes[i]) {
            continue;
        }
        const auto& item = attachments[i];
        const auto what =
            fmt::format("network \"{}\" ({})", item.attachment.network, item.attachment.ifname);
        try {
            std::rethrow_exception(outcomes[i]);
        } catch (const cni::Error& e) {
            if (origin == Origin::Config && !item.attachment.is_primary) {
                // Without state we only guess that this attachment exists (e.g. ADD failed and
                // rolled it back): an old plugin's "not found" must not make the DEL fail forever.
                spdlog::warn("DEL of {} without state: {}", what, e.what());
                continue;
            }
            failures.add(fmt::format("{}: {}", what, e.what()), e);
            left.insert(left.begin(), item);
        } catch (const std::exception& e) {
            failures.add(fmt::format("{}: {}", what, e.what()),
                         cni::Error(cni::ErrorCode::Other, e.what()));
            left.insert(left.begin(), item);
        }
    }
    const auto& first = failures.first;
    const bool keep_state =
        state && first && ctx.conf.retry_delete_on_error && !runtime_takes_as_deleted(*first);
    // The files go after every delegate was called: a failure to remove them (read-only or full
    // cniDir) is this DEL's error, never a reason to skip a delegate.
    try {
        if (keep_state) {
            state->attachments = std::move(left);
            ctx.store.save(*state);
        } else {
            ctx.store.remove(key, state && state->from_legacy_file);
            if (origin == Origin::MultusCache && !first) {
                store::remove_multus_cache(ctx.conf.multus_cni_dir, key.container_id);
            }
            if (lock.valid()) {
                ctx.store.remove_lock_file(key);
            }
        }
    } catch (const cni::Error& e) {
        failures.add(e.what(), e);
    }
    if (first) {
        throw cni::Error(first->code(), fmt::format("errors: {}", fmt::join(failures.texts, " / ")),
                         first->details(), first->sys_errno());
    }
    spdlog::info("deleted {} attachment(s)", attachments.size());
}

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
