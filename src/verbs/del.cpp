#include <algorithm>
#include <cerrno>
#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "splitnet/util/concurrent.hpp"
#include "splitnet/verbs/context.hpp"

namespace splitnet::verbs {
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

}  // namespace splitnet::verbs
