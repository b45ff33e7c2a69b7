#include <string>
#include <utility>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::store {
namespace {

using nlohmann::json;

constexpr std::string_view kKind = "splitnetState";
constexpr int kVersion = 1;

// Selection keys follow Multus' NetworkSelectionElement so that a state file reads like the
// annotation it came from.
json selection_to_json(const plan::Selection& s) {
    json out = json::object();
    out["name"] = s.name;
    const auto put = [&out](const char* key, const auto& value) {
        if (!value.empty()) {
            out[key] = value;
        }
    };
    put("namespace", s.namespace_);
    put("interface", s.interface);
    put("ips", s.ips);
    put("mac", s.mac);
    put("infiniband-guid", s.infiniband_guid);
    put("deviceID", s.device_id);
    if (!s.port_mappings.is_null()) {
        out["portMappings"] = s.port_mappings;
    }
    if (!s.bandwidth.is_null()) {
        out["bandwidth"] = s.bandwidth;
    }
    if (!s.cni_args.is_null()) {
        out["cni-args"] = s.cni_args;
    }
    if (s.default_route) {
        out["default-route"] = *s.default_route;
    }
    return out;
}

plan::Selection selection_from_json(const json& doc) {
    plan::Selection s;
    s.name = doc.at("name").get<std::string>();
    s.namespace_ = doc.value("namespace", "");
    s.interface = doc.value("interface", "");
    s.ips = doc.value("ips", std::vector<std::string>{});
    s.mac = doc.value("mac", "");
    s.infiniband_guid = doc.value("infiniband-guid", "");
    s.device_id = doc.value("deviceID", "");
    s.port_mappings = doc.value("portMappings", json());
    s.bandwidth = doc.value("bandwidth", json());
    s.cni_args = doc.value("cni-args", json());
    if (doc.contains("default-route")) {
        s.default_route = doc.at("default-route").get<std::vector<std::string>>();
    }
    return s;
}

json attachment_to_json(const AttachmentState& state) {
    const auto& a = state.attachment;
    json out = {
        {"network", a.network},
        {"ifname", a.ifname},
        // A string, not a parsed object: the bytes DEL sends must be the bytes ADD sent.
        {"config", a.config},
        {"runtimeConfig", a.runtime_config},
        {"cniArgs", a.cni_args},
        {"isPrimary", a.is_primary},
    };
    if (a.selection) {
        out["selection"] = selection_to_json(*a.selection);
    }
    out["result"] = state.result;
    return out;
}

AttachmentState attachment_from_json(const json& doc) {
    AttachmentState state;
    auto& a = state.attachment;
    a.network = doc.at("network").get<std::string>();
    a.ifname = doc.at("ifname").get<std::string>();
    a.config = doc.at("config").get<std::string>();
    a.runtime_config = doc.value("runtimeConfig", json::object());
    if (!a.runtime_config.is_object()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure, "state: runtimeConfig is not an object");
    }
    a.cni_args = doc.value("cniArgs", "");
    a.is_primary = doc.value("isPrimary", false);
    if (doc.contains("selection")) {
        a.selection = selection_from_json(doc.at("selection"));
    }
    state.result = doc.value("result", json());
    return state;
}

}  // namespace

json state_to_json(const State& state) {
    json attachments = json::array();
    for (const auto& a : state.attachments) {
        attachments.push_back(attachment_to_json(a));
    }
    return {
        {"kind", kKind},
        {"version", kVersion},
        {"containerId", state.container_id},
        {"ifname", state.ifname},
        {"cniVersion", state.cni_version},
        {"netns", state.netns},
        {"phase", state.phase == Phase::Added ? "added" : "adding"},
        {"addTag", state.add_tag},
        {"attachments", std::move(attachments)},
    };
}

State state_from_json(const json& doc) {
    const auto bad = [](const std::string& why) {
        return cni::Error(cni::ErrorCode::DecodingFailure,
                          fmt::format("invalid splitnet state: {}", why));
    };
    try {
        if (!doc.is_object() || doc.value("kind", "") != kKind) {
            throw bad(fmt::format("kind must be \"{}\"", kKind));
        }
        if (!doc.contains("version") || doc.at("version") != kVersion) {
            throw bad(fmt::format("version {} is not {}",
                                  util::dump_json(doc.value("version", json())), kVersion));
        }
        State state;
        state.container_id = doc.at("containerId").get<std::string>();
        state.cni_version = doc.at("cniVersion").get<std::string>();
        state.netns = doc.value("netns", "");
        // Files of the previous release have neither: they were written for the runtime ifname
        // their primary got, and only once delegates could no longer be running.
        const auto phase = doc.value("phase", "added");
        if (phase != "added" && phase != "adding") {
            throw bad(fmt::format("unknown phase \"{}\"", phase));
        }
        state.phase = phase == "added" ? Phase::Added : Phase::Adding;
        state.add_tag = doc.value("addTag", "");
        const auto& attachments = doc.at("attachments");
        if (!attachments.is_array()) {
            throw bad("attachments is not a list");
        }
        for (const auto& a : attachments) {
            state.attachments.push_back(attachment_from_json(a));
        }
        state.ifname = doc.value("ifname", "");
        if (state.ifname.empty()) {
            for (const auto& a : state.attachments) {
                if (a.attachment.is_primary) {
                    state.ifname = a.attachment.ifname;
                    break;
                }
            }
        }
        return state;
    } catch (const json::exception& e) {
        throw bad(e.what());
    }
}

}  // namespace splitnet::store
