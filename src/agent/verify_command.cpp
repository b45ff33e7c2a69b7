#include "splitnet/agent/verify_command.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/app/command_line.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/egress/kernel.hpp"
#include "splitnet/net/link.hpp"

namespace splitnet::agent {

NetnsSnapshot take_snapshot(net::Netlink& nl, const VerifyOptions& options) {
    NetnsSnapshot snapshot;
    if (const auto link = net::find_link(nl, options.vpn_interface)) {
        snapshot.links.push_back({link->name, link->is_up()});
    }
    snapshot.routes = egress::observe_routes(nl);
    return snapshot;
}

int run_verify(const std::vector<std::string>& args) {
    VerifyOptions options;
    try {
        options = parse_verify_options(args);
    } catch (const cni::Error& e) {
        static_cast<void>(
            std::fputs((std::string(e.what()) + "\n\n" + verify_usage()).c_str(), stderr));
        return app::kUsageExitCode;
    }
    if (options.help) {
        static_cast<void>(std::fputs(verify_usage().c_str(), stdout));
        return 0;
    }
    std::vector<std::string> problems;
    try {
        net::Netlink nl;
        problems = verify_problems(options, take_snapshot(nl, options));
    } catch (const net::KernelError& e) {
        spdlog::error("verify: cannot read this network namespace: {}", e.what());
        return 1;
    } catch (const cni::Error& e) {
        spdlog::error("verify: cannot read this network namespace: {}", e.what());
        return 1;
    }
    if (!problems.empty()) {
        std::string text = fmt::format(
            "splitnet verify: this pod is NOT protected by splitnet's VPN egress ({} problem{}):\n",
            problems.size(), problems.size() == 1 ? "" : "s");
        for (const auto& problem : problems) {
            text += "  - " + problem + "\n";
        }
        static_cast<void>(std::fputs(text.c_str(), stderr));
        return 1;
    }
    static_cast<void>(std::fputs(
        fmt::format("splitnet verify: ok: {} is up with the default route, the kill switch is in "
                    "place, nothing leaves via {}\n",
                    options.vpn_interface, options.primary_interface)
            .c_str(),
        stdout));
    return 0;
}

}  // namespace splitnet::agent
