#include "splitnet/attach/native_invoker.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "splitnet/attach/macvlan.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::attach {

namespace {

std::string config_version(const std::string& config) {
    // skel: the version decoder only needs cniVersion; bad JSON is a decoding failure (6).
    const auto doc = util::parse_json_bounded(config, "native plugin configuration",
                                              {util::kMaxConfigBytes, util::kMaxComposedJsonDepth});
    if (!doc.is_object()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure, "the configuration is not a JSON object");
    }
    const auto it = doc.find("cniVersion");
    if (it == doc.end() || !it->is_string()) {
        return "0.1.0";  // libcni: an absent version is 0.1.0
    }
    return it->get<std::string>();
}

// The Go skel's gates before a verb runs.
void check_version_gates(cni::Verb verb, const std::string& version) {
    if (!cni::is_supported_version(version)) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion, "incompatible CNI versions",
                         fmt::format("config is \"{}\", plugin supports [{}]", version,
                                     cni::supported_versions_text()));
    }
    if (verb == cni::Verb::Check && !cni::version_at_least(version, "0.4.0")) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion,
                         "config version does not allow CHECK");
    }
    if ((verb == cni::Verb::Status || verb == cni::Verb::Gc) &&
        !cni::version_at_least(version, "1.1.0")) {
        throw cni::Error(cni::ErrorCode::IncompatibleVersion,
                         fmt::format("config version does not allow {}", cni::verb_name(verb)));
    }
}

}  // namespace

bool is_native_type(std::string_view type) {
    return type == "macvlan";
}

std::string NativeInvoker::invoke(const delegate::PluginCall& call) {
    if (!is_native_type(call.type)) {
        return fallback_.invoke(call);
    }
    if (call.verb == cni::Verb::Version) {
        return cni::version_document();
    }
    check_version_gates(call.verb, config_version(call.config));
    spdlog::debug("native {} {} {} in {}", cni::verb_name(call.verb), call.type, call.ifname,
                  call.netns);
    // The plugin's boundary: it fails with a CNI error, as an exec'd plugin's error document.
    try {
        switch (call.verb) {
            case cni::Verb::Add:
                return macvlan_add(call, fallback_);
            case cni::Verb::Del:
                macvlan_del(call, fallback_);
                return {};
            case cni::Verb::Check:
                macvlan_check(call, fallback_);
                return {};
            case cni::Verb::Status:
                macvlan_status(call, fallback_);
                return {};
            case cni::Verb::Gc:
                return {};  // the reference macvlan keeps no state to collect
            case cni::Verb::Version:
                break;
        }
    } catch (const net::KernelError& e) {
        throw cni::from_kernel(e);
    }
    return {};
}

}  // namespace splitnet::attach
