#include "splitnet/verbs/preflight.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"

namespace splitnet::verbs {

bool readiness_ok(const std::string& path) {
    std::error_code ignored;
    return path.empty() || std::filesystem::exists(path, ignored);
}

void wait_for_readiness(const std::string& path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The primary CNI creates the file when it is ready; there is nothing to wait on but time.
    while (!readiness_ok(path)) {
        if (std::chrono::steady_clock::now() >= deadline) {
            throw cni::Error(
                cni::ErrorCode::TryAgainLater,
                fmt::format("have you checked that your default network is ready? still waiting "
                            "for readinessindicatorfile @ {}",
                            path),
                fmt::format("waited {} ms; the primary CNI writes this file when it is ready",
                            timeout.count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void check_ifnames(const std::vector<plan::Attachment>& attachments, const std::string& netns,
                   std::size_t being_added) {
    std::vector<std::string> seen;
    for (const auto& attachment : attachments) {
        if (auto problem = cni::interface_name_problem(attachment.ifname); !problem.empty()) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("network \"{}\": {}", attachment.network, problem),
                             "interface " + cni::printable(attachment.ifname));
        }
        if (std::find(seen.begin(), seen.end(), attachment.ifname) != seen.end()) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("interface name {} is requested twice", attachment.ifname),
                             "give each network its own \"interface\" in the annotation");
        }
        seen.push_back(attachment.ifname);
    }
    if (being_added >= attachments.size()) {
        return;
    }
    const auto ns = net::open_netns(netns);
    net::Netlink pod(ns.get());
    for (std::size_t i = being_added; i < attachments.size(); ++i) {
        const auto& attachment = attachments[i];
        if (net::find_link(pod, attachment.ifname)) {
            throw cni::Error(
                cni::ErrorCode::InvalidNetworkConfig,
                fmt::format(R"(cannot set "{}" interface name to "{}": interface name {} )"
                            "already exists",
                            attachment.network, attachment.ifname, attachment.ifname),
                "the pod sandbox already has this interface; DEL the old attachment first");
        }
    }
}

void check_netns(const cni::Request& request, const cni::Getenv& getenv) {
    const bool needs_netns = request.verb == cni::Verb::Add || request.verb == cni::Verb::Check;
    if (!needs_netns && request.verb != cni::Verb::Del) {
        return;
    }
    if (request.netns.empty()) {
        return;  // DEL without netns is fine
    }
    auto target = needs_netns ? std::optional<util::UniqueFd>(net::open_netns(request.netns))
                              : net::open_netns_if_exists(request.netns);
    if (!target) {
        return;
    }
    const auto override_value = getenv("CNI_NETNS_OVERRIDE").value_or("");
    if (override_value == "1" || override_value == "true") {
        return;
    }
    const auto own = net::open_current_netns();
    if (net::same_netns(own.get(), target->get())) {
        throw cni::Error(cni::ErrorCode::InvalidNetns,
                         "netns must not be the plugin's own network namespace",
                         fmt::format("CNI_NETNS={} is the node's namespace; set "
                                     "CNI_NETNS_OVERRIDE=1 only if that is intended",
                                     request.netns));
    }
}

}  // namespace splitnet::verbs
