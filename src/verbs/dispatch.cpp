#include "splitnet/verbs/dispatch.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/agent/outcome_log.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/delegate/exec_invoker.hpp"
#include "splitnet/log/logging.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/kill_point.hpp"
#include "splitnet/verbs/preflight.hpp"

namespace splitnet::verbs {
std::string about_text() {
    return fmt::format(
        "splitnet {}: multi-network CNI meta-plugin (Multus-compatible)\nCNI protocol versions "
        "supported: {}\n",
        SPLITNET_VERSION, fmt::join(cni::kSupportedVersions, ", "));
}

std::string error_document(const cni::Error& error, const std::string& version) {
    nlohmann::json doc = nlohmann::json::object();
    if (!version.empty()) {
        doc["cniVersion"] = version;
    }
    doc["code"] = error.code();
    doc["msg"] = error.msg();
    if (!error.details().empty()) {
        doc["details"] = error.details();
    }
    return util::dump_json(doc);
}

namespace {

// The Go skel's checks on stdin, in its order, with its codes.
void check_config(const config::MetaConf& conf, cni::Verb verb) {
    if (conf.name.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig, "missing network name");
    }
    if (!cni::is_valid_identifier(conf.name)) {
        throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                         "invalid characters found in network name", conf.name);
    }
    const auto& version = conf.cni_version;
    if (!cni::is_supported_version(version)) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion, "incompatible CNI versions",
                         fmt::format("config is \"{}\", plugin supports {}", version,
                                     cni::supported_versions_text()));
    }
    if (verb == cni::Verb::Check && !cni::version_at_least(version, "0.4.0")) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion, "config version does not allow CHECK",
                         version);
    }
    if ((verb == cni::Verb::Status || verb == cni::Verb::Gc) &&
        !cni::version_at_least(version, "1.1.0")) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion,
                         fmt::format("config version does not allow {}", cni::verb_name(verb)),
                         version);
    }
}

int run_verb(const Io& io, const Adapters& adapters, const cni::Request& parsed,
             std::string& version_for_errors) {
    cni::Request request = parsed;
    request.config = io.read_stdin();
    auto conf = config::parse_meta_conf(request.config);
    version_for_errors = conf.cni_version;
    log::configure({conf.log_level, conf.log_file, conf.log_to_stderr});
    // ADD/DEL/CHECK outcomes go to the node agent's metrics (agent/outcome_log.hpp); the line is
    // appended after the verb, best effort, whatever happened.
    const bool recorded = request.verb == cni::Verb::Add || request.verb == cni::Verb::Del ||
                          request.verb == cni::Verb::Check;
    const auto started = std::chrono::steady_clock::now();
    const auto record = [&](int code) {
        if (recorded) {
            agent::append_outcome(
                conf.cni_dir,
                {std::string(cni::verb_name(request.verb)), code == 0, code,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                     .count()});
        }
    };
    try {
        check_config(conf, request.verb);
        check_netns(request, io.getenv);

        store::StateStore store(conf.cni_dir);
        auto source = adapters.make_source();
        auto& invoker = conf.disable_native ? adapters.exec : adapters.invoker;
        Context ctx{request, conf, invoker, *source, store};
        switch (request.verb) {
            case cni::Verb::Add: {
                const auto result = util::dump_json(run_add(ctx));
                record(0);
                io.write_stdout(result);
                return 0;
            }
            case cni::Verb::Del:
                run_del(ctx);
                break;
            case cni::Verb::Check:
                run_check(ctx);
                break;
            case cni::Verb::Status:
                run_status(ctx);
                break;
            case cni::Verb::Gc:
                run_gc(ctx);
                break;
            case cni::Verb::Version:
                break;
        }
    } catch (const cni::Error& e) {
        record(static_cast<int>(e.code()));
        throw;
    } catch (const net::KernelError& e) {
        // The verbs' boundary with the kernel layer (e.g. a bad CNI_NETNS: code 4).
        record(static_cast<int>(cni::from_kernel(e).code()));
        throw cni::from_kernel(e);
    } catch (...) {
        record(static_cast<int>(cni::ErrorCode::Other));
        throw;
    }
    record(0);
    return 0;
}

// Logs and prints one error object (spdlog reports its own failures to its error handler).
int report_failure(const Io& io, const cni::Error& error, const std::string& version) {
    spdlog::error("{} (code {}){}{}", error.what(), error.code(),
                  error.details().empty() ? "" : ": ", error.details());
    io.write_stdout(error_document(error, version));
    return 1;
}

int run_protected(const Io& io, const Adapters& adapters, std::string& version_for_errors) {
    try {
        const auto request = cni::parse_request_env(io.getenv);
        if (!request) {
            io.write_stderr(about_text());
            return 0;
        }
        log::set_context(cni::verb_name(request->verb), request->container_id, request->ifname);
        // Test hook from the runtime's environment, never from stdin (util/kill_point.hpp).
        util::arm_kill_point(io.getenv(util::kKillPointVariable).value_or(""));
        if (request->verb == cni::Verb::Version) {
            io.write_stdout(cni::version_document());
            return 0;
        }
        if (io.getenv(delegate::kNestedMarker)) {
            // Our stdin is then a network's config, not the node's: its binDir, logFile,
            // kubeconfig, delegates ... were chosen by whoever wrote the network.
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             "splitnet cannot run as a plugin of a network that splitnet attaches",
                             fmt::format("{} is set: a network config names splitnet or Multus as "
                                         "a plugin (directly, or for a plugin to run, e.g. as its "
                                         "IPAM); name the plugin that creates the interface",
                                         delegate::kNestedMarker));
        }
        return run_verb(io, adapters, *request, version_for_errors);
    } catch (const cni::Error& e) {
        return report_failure(io, e, version_for_errors);
    } catch (const std::exception& e) {
        return report_failure(io, cni::Error(cni::ErrorCode::Other, e.what()), version_for_errors);
    }
}

}  // namespace

int run(const Io& io, const Adapters& adapters) {
    std::string version_for_errors;
    try {
        return run_protected(io, adapters, version_for_errors);
    } catch (...) {
        // Not a std::exception, or reporting one failed (bad_alloc): still one valid document.
        io.write_stdout(kLastResortError);
        return 1;
    }
}

}  // namespace splitnet::verbs
