#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/invoker.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/plan/delegate_spec.hpp"
#include "splitnet/plan/plan.hpp"
#include "splitnet/store/state.hpp"

namespace splitnet::verbs {

/// Where the pod's networks come from: the inline `delegates`, or Kubernetes (annotations, NADs).
class NetworkSource {
public:
    NetworkSource() = default;
    virtual ~NetworkSource() = default;
    NetworkSource(const NetworkSource&) = delete;
    NetworkSource& operator=(const NetworkSource&) = delete;
    NetworkSource(NetworkSource&&) = delete;
    NetworkSource& operator=(NetworkSource&&) = delete;

    /// The ordered networks for ADD (primary first).
    virtual std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& conf,
                                                            const cni::Request& request) = 0;

    /// For a source whose resolve_for_add waits for the API: the primary when the node config
    /// alone decides it, without the API. Under "overlap" ADD starts it, and resolve_for_add
    /// reads the pod and its networks while its plugin runs; when they name another primary
    /// (the default-network annotation), ADD removes it before adding theirs. nullopt (the
    /// default): ADD starts the primary once resolve_for_add returned. Throws as resolve_for_add.
    virtual std::optional<plan::DelegateSpec> primary_before_resolve(
        const config::MetaConf& /*conf*/, const cni::Request& /*request*/) {
        return std::nullopt;
    }

    /// Best effort for DEL/CHECK/STATUS/GC when no state exists: never blocks long, may return
    /// only the primary.
    virtual std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                             const cni::Request& request) = 0;

    /// Attachments a Go Multus left in its cache for this container (migration), if any.
    virtual std::optional<std::vector<store::AttachmentState>> multus_cache(
        const config::MetaConf& /*conf*/, const cni::Request& /*request*/) {
        return std::nullopt;
    }

    /// Called once after every attachment was added (network-status annotation, Events).
    virtual void after_add(const config::MetaConf& /*conf*/, const cni::Request& /*request*/,
                           const std::vector<store::AttachmentState>& /*attachments*/) {}

    /// Called once when ADD failed, after its rollback, with the error the runtime gets
    /// (a Warning Event). Best effort: must not throw.
    virtual void add_failed(const config::MetaConf& /*conf*/, const cni::Request& /*request*/,
                            const cni::Error& /*error*/) noexcept {}
};

/// Only the inline `delegates` of the meta config: [0] is the primary.
class InlineSource final : public NetworkSource {
public:
    std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& conf,
                                                    const cni::Request& request) override;
    std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                     const cni::Request& request) override;
};

/// Everything one verb needs; built by the dispatcher from the real adapters (or fakes in tests).
struct Context {
    cni::Request request;
    config::MetaConf conf;
    delegate::PluginInvoker& invoker;
    NetworkSource& source;
    store::StateStore& store;
};

/// Returns the result document to print.
nlohmann::json run_add(Context& ctx);
void run_del(Context& ctx);
void run_check(Context& ctx);
void run_status(Context& ctx);
void run_gc(Context& ctx);

/// DEL of one attachment (in a DEL or an ADD's rollback) with its stored result as prevResult.
/// Throws the delegate's error: the caller judges it.
void delete_attachment(Context& ctx, const store::AttachmentState& state);

/// Injects "splitnetContext" (clusterCIDRs, the primary's ifname and result from `done`) into
/// every plugin of `net` that has an "egress" block; ADD and CHECK need it alike.
void add_egress_context(delegate::NetworkConfig& net, const Context& ctx,
                        const std::vector<store::AttachmentState>& done);

/// Whether a plugin of `net` is given the primary's result (its "egress" block needs eth0's
/// gateway): its egress policy can only be applied once the primary was added (with "overlap" a
/// native one is split there, verbs/run.cpp; any other waits for the primary as a whole).
bool uses_primary_result(const delegate::NetworkConfig& net);

/// DEL of the first `count` attachments in reverse order; failures are logged, not thrown.
/// Returns the attachments whose DEL failed (in plan order): what a state must keep so that
/// the next DEL retries them.
std::vector<store::AttachmentState> rollback_attachments(
    Context& ctx, const std::vector<store::AttachmentState>& attachments, std::size_t count);

/// The key of the attachment the runtime asks about: CNI_CONTAINERID and CNI_IFNAME.
store::StateKey request_key(const Context& ctx);

/// Before any delegate's DEL: when `state` is of an ADD that never finished (killed, or rolled
/// back incompletely), stops every process that ADD started and that still runs. Throws
/// Error(TryAgainLater) when they do not go away.
void stop_unfinished_add(const store::State& state);

/// The network config of one attachment, with the meta cniVersion filled in when it has none.
delegate::NetworkConfig attachment_network(const plan::Attachment& attachment,
                                           const config::MetaConf& conf);

/// The runtime side of one attachment: its ifname, CNI_ARGS, runtimeConfig; binDir searched
/// before CNI_PATH.
delegate::RuntimeConf attachment_runtime(const plan::Attachment& attachment, const Context& ctx);

}  // namespace splitnet::verbs
