#pragma once

// Helpers shared by the native-macvlan privileged tests: building plugin calls, running them
// through Debian's reference binaries or the NativeInvoker, and snapshotting a pod netns with
// `ip -j` in a comparable (normalised) form.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/delegate/exec_invoker.hpp"
#include "testutil/netns_fixture.hpp"
#include "testutil/scratch_dir.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::attach::testing {

using nlohmann::json;
using testutil::error_of;

inline constexpr const char* kReferenceDir = "/usr/lib/cni";

inline delegate::PluginCall make_call(cni::Verb verb, const json& conf, const std::string& netns,
                                      const std::string& cni_args,
                                      const std::vector<std::string>& cni_path) {
    delegate::PluginCall call;
    call.verb = verb;
    call.type = conf.value("type", "macvlan");
    call.config = conf.dump();
    call.container_id = "ctr-native-test";
    call.netns = netns;
    call.ifname = "net1";
    call.cni_args = cni_args;
    call.cni_path = cni_path;
    call.timeout = std::chrono::seconds(30);
    return call;
}

/// `ip -j ...` inside a netns, parsed.
inline json ip_json(const std::string& netns, const std::string& args) {
    const auto out = testutil::NetnsFixture::run_in(netns, "ip -j " + args);
    if (out.empty()) {
        return json::array();
    }
    return json::parse(out);
}

/// Names of the links in a netns (lo included).
inline std::vector<std::string> link_names(const std::string& netns) {
    std::vector<std::string> out;
    for (const auto& link : ip_json(netns, "link show")) {
        out.push_back(link.value("ifname", ""));
    }
    return out;
}

/// What the kernel holds for net1, with per-run values (ifindex, random MACs and the link-local
/// addresses and routes derived from them, timers, DAD flags) removed.
inline json snapshot(const std::string& netns, bool keep_mac) {
    json out;
    auto links = ip_json(netns, "-d link show dev net1");
    for (auto& link : links) {
        // txqlen: Debian's v1.1.1 forces it to 0 (fixed upstream in v1.6.0); we leave the
        // kernel's default. Asserted on its own in NetLinkTest.
        for (const char* key : {"ifindex", "link_index", "link_netnsid", "promiscuity", "txqlen"}) {
            link.erase(key);
        }
        if (!keep_mac) {
            link.erase("address");
        }
    }
    out["link"] = links;
    auto addrs = ip_json(netns, "addr show dev net1");
    for (auto& link : addrs) {
        json kept = json::array();
        for (auto& a : link["addr_info"]) {
            if (a.value("scope", "") == "link" && !keep_mac) {
                continue;
            }
            for (const char* key : {"valid_life_time", "preferred_life_time", "nodad", "tentative",
                                    "dadfailed", "noprefixroute"}) {
                a.erase(key);
            }
            kept.push_back(a);
        }
        out["addr"] = kept;
    }
    json routes = json::array();
    for (const char* family : {"-4", "-6"}) {
        for (auto& r : ip_json(netns, std::string(family) + " route show table all")) {
            const auto dst = r.value("dst", "");
            // Link-local and multicast routes are the kernel's own; the local fe80 one follows the
            // MAC.
            if (!keep_mac && (dst.rfind("fe80:", 0) == 0)) {
                continue;
            }
            if (dst.rfind("ff00::", 0) == 0) {
                continue;
            }
            r.erase("expires");
            routes.push_back(r);
        }
    }
    out["routes"] = routes;
    return out;
}

/// The ADD result with the MAC removed unless it is deterministic. An empty "dns" object (Go
/// always prints one) is the same as none.
inline json normalise_result(json result, bool keep_mac) {
    if (result.contains("dns") && result["dns"].empty()) {
        result.erase("dns");
    }
    if (!keep_mac && result.contains("interfaces")) {
        for (auto& iface : result["interfaces"]) {
            iface.erase("mac");
        }
    }
    return result;
}

}  // namespace splitnet::attach::testing
