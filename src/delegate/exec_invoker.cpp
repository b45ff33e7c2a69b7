#include "splitnet/delegate/exec_invoker.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/delegate/leftovers.hpp"
#include "splitnet/delegate/plugin_type.hpp"
#include "splitnet/delegate/spawn.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace splitnet::delegate {
namespace {

using detail::SpawnOutcome;

constexpr std::size_t kDetailsLimit = 4096;

std::vector<std::string> current_environment() {
    std::vector<std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        env.emplace_back(*entry);
    }
    return env;
}

using util::clip;
using util::trim;

std::string describe(const SpawnOutcome& outcome) {
    switch (outcome.status) {
        case SpawnOutcome::Status::Exited:
            return fmt::format("exit {}", outcome.exit_code);
        case SpawnOutcome::Status::Signaled:
            return fmt::format("killed by signal {}", outcome.signal);
        case SpawnOutcome::Status::TimedOut:
            return "timed out";
        case SpawnOutcome::Status::StdoutOverflow:
            return "stdout overflow";
        case SpawnOutcome::Status::NotStarted:
            break;
    }
    return "not started";
}

SpawnOutcome run_with_retries(const detail::SpawnRequest& request, const PluginCall& call,
                              const ExecOptions& options) {
    for (std::size_t attempt = 0;; ++attempt) {
        SpawnOutcome outcome = detail::run_process(request);
        if (outcome.status != SpawnOutcome::Status::NotStarted) {
            return outcome;
        }
        const int err = outcome.spawn_errno;
        if (err != ETXTBSY) {
            throw cni::Error(cni::ErrorCode::Other,
                             fmt::format("failed to execute plugin \"{}\" ({}): {}", call.type,
                                         request.path, std::system_category().message(err)));
        }
        if (attempt >= options.busy_backoff.size()) {
            throw cni::Error(
                cni::ErrorCode::TryAgainLater,
                fmt::format("plugin \"{}\" ({}) could not be executed: text file busy after {} "
                            "attempts (the binary is being written); retry later",
                            call.type, request.path, attempt + 1));
        }
        const auto delay = options.busy_backoff[attempt];
        spdlog::debug("plugin {} is busy (ETXTBSY), retrying in {} ms", request.path,
                      delay.count());
        if (options.sleep) {
            options.sleep(delay);
        } else {
            std::this_thread::sleep_for(delay);
        }
    }
}

// A Go plugin reports a system error as text only. ENOENT is the one a caller decides on (a DEL
// that failed because something is gone, verbs/run.cpp), so it is recognised here, where the
// plugin's report is read, and carried as an errno from then on.
int errno_in_plugin_report(std::string_view text) {
    return text.find("no such file or directory") != std::string_view::npos ? ENOENT : 0;
}

[[noreturn]] void throw_failure(const PluginCall& call, const SpawnOutcome& outcome) {
    // A plugin reports failure with an error object on stdout: keep its code, msg and details.
    const auto parsed =
        util::try_parse_json_bounded(outcome.out, {util::kMaxResultBytes, util::kMaxJsonDepth});
    const auto doc = parsed ? *parsed : nlohmann::json();
    if (doc.is_object() && (doc.contains("code") || doc.contains("msg"))) {
        const auto code = doc.value("code", nlohmann::json(0U));
        auto msg = doc.value("msg", nlohmann::json(""));
        const auto details = doc.value("details", nlohmann::json(""));
        if (code.is_number_unsigned() && msg.is_string() && details.is_string() &&
            !msg.get<std::string>().empty()) {
            const auto text = msg.get<std::string>();
            throw cni::Error(code.get<unsigned>(), text, details.get<std::string>(),
                             errno_in_plugin_report(text));
        }
    }
    // A byte-limited read may have cut the last character of stderr in two.
    const auto err_text =
        trim(outcome.err_truncated ? util::without_cut_utf8_tail(outcome.err) : outcome.err);
    const auto out_text = trim(outcome.out);
    throw cni::Error(cni::ErrorCode::Other,
                     fmt::format("plugin \"{}\" failed ({}): {}{}", call.type, describe(outcome),
                                 err_text.empty() ? "no error message" : err_text,
                                 outcome.err_truncated ? " [stderr truncated]" : ""),
                     out_text.empty() ? "" : "stdout: " + clip(out_text, kDetailsLimit),
                     errno_in_plugin_report(err_text));
}

void check_document(const PluginCall& call, const std::string& out) {
    const auto text = trim(out);
    if (text.empty()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         fmt::format("plugin \"{}\" returned no result", call.type));
    }
    std::string problem;
    const auto doc =
        util::try_parse_json_bounded(text, {util::kMaxResultBytes, util::kMaxJsonDepth}, &problem);
    if (doc && !doc->is_object()) {
        problem = "not a JSON object";
    }
    if (!problem.empty()) {
        throw cni::Error(
            cni::ErrorCode::DecodingFailure,
            fmt::format("plugin \"{}\" returned an invalid result: {}", call.type, problem),
            "stdout: " + clip(text, kDetailsLimit));
    }
}

}  // namespace

std::vector<std::string> plugin_environment(const PluginCall& call,
                                            const std::vector<std::string>& parent) {
    std::vector<std::string> all = parent;
    all.push_back(fmt::format("CNI_COMMAND={}", cni::verb_name(call.verb)));
    all.push_back("CNI_CONTAINERID=" + call.container_id);
    all.push_back("CNI_NETNS=" + call.netns);
    all.push_back("CNI_IFNAME=" + call.ifname);
    all.push_back("CNI_ARGS=" + call.cni_args);
    all.push_back(fmt::format("CNI_PATH={}", fmt::join(call.cni_path, ":")));
    all.push_back(fmt::format("{}=1", kNestedMarker));
    if (!call.add_tag.empty()) {
        all.push_back(fmt::format("{}={}", kAddTagVariable, call.add_tag));
    }

    // First position, last value (Go's dedupEnv): an override replaces the inherited entry.
    std::vector<std::string> out;
    std::unordered_map<std::string_view, std::size_t> index;
    for (const auto& entry : all) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        const std::string_view key(entry.data(), eq);
        if (const auto it = index.find(key); it != index.end()) {
            out[it->second] = entry;
        } else {
            index.emplace(key, out.size());
            out.push_back(entry);
        }
    }
    return out;
}

std::string ExecInvoker::invoke(const PluginCall& call) {
    detail::SpawnRequest request;
    request.path = find_plugin(call.type, call.cni_path);
    request.argv = {request.path};
    request.env = plugin_environment(call, current_environment());
    request.stdin_data = call.config;
    request.timeout = call.timeout;
    request.max_stdout = options_.max_stdout;
    request.max_stderr_kept = options_.max_stderr_kept;
    request.forward_stderr_fd = options_.forward_stderr_fd;

    const SpawnOutcome outcome = run_with_retries(request, call, options_);
    spdlog::debug("exec {} {} ifname={} in {} ms: {}", call.type, cni::verb_name(call.verb),
                  call.ifname, outcome.elapsed.count(), describe(outcome));

    switch (outcome.status) {
        case SpawnOutcome::Status::TimedOut:
            throw cni::Error(cni::ErrorCode::Other,
                             fmt::format("plugin \"{}\" timed out after {} ms and was killed",
                                         call.type, call.timeout.count()));
        case SpawnOutcome::Status::StdoutOverflow:
            throw cni::Error(cni::ErrorCode::Other,
                             fmt::format("plugin \"{}\" wrote more than {} bytes to stdout and "
                                         "was killed",
                                         call.type, options_.max_stdout));
        case SpawnOutcome::Status::Exited:
            if (outcome.exit_code == 0) {
                break;
            }
            throw_failure(call, outcome);
        case SpawnOutcome::Status::Signaled:
        case SpawnOutcome::Status::NotStarted:
            throw_failure(call, outcome);
    }
    // Exit status decides, as in libcni: an error object printed with exit 0 is a result.
    if (call.verb != cni::Verb::Add && call.verb != cni::Verb::Version) {
        return {};
    }
    check_document(call, outcome.out);
    return outcome.out;
}

namespace {

// Our own executable under another name (a link such as binDir/multus -> splitnet left by a
// migration): running it would nest a meta-plugin. False when /proc is unavailable.
bool is_own_executable(const struct stat& candidate) {
    struct stat self {};

    return ::stat("/proc/self/exe", &self) == 0 && self.st_dev == candidate.st_dev &&
           self.st_ino == candidate.st_ino;
}

}  // namespace

std::string find_plugin(std::string_view type, const std::vector<std::string>& path) {
    // The type comes from a network config that may come from a NAD anyone in the namespace
    // can write: it must name a file inside the search path, never a path of its own, and
    // never a meta-plugin.
    if (auto problem = plugin_type_problem(type); !problem.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig, problem);
    }
    for (const auto& dir : path) {
        if (dir.empty()) {
            continue;
        }
        std::string candidate = dir;
        if (candidate.back() != '/') {
            candidate += '/';
        }
        candidate.append(type);

        struct stat st {};

        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            if (is_own_executable(st)) {
                throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                                 fmt::format("plugin type \"{}\" is splitnet itself ({}): a "
                                             "meta-plugin cannot be a network's plugin",
                                             type, candidate),
                                 "name the plugin that creates the interface instead");
            }
            return candidate;
        }
    }
    throw cni::Error(cni::ErrorCode::Other, fmt::format("failed to find plugin \"{}\" in path [{}]",
                                                        type, fmt::join(path, " ")));
}

}  // namespace splitnet::delegate
