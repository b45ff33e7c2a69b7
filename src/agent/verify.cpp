#include "splitnet/agent/verify.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"

namespace splitnet::agent {
namespace {

using egress::RouteEntry;
using egress::RouteKind;

bool is_kill_switch(const RouteEntry& route) {
    return route.kind == RouteKind::Unreachable || route.kind == RouteKind::Blackhole ||
           route.kind == RouteKind::Prohibit;
}

// A route that takes all (or half of all) destinations of its family: a default, or one half
// of a split default (0.0.0.0/1 + 128.0.0.0/1, as VPN clients install), which wins over the
// default by prefix length.
bool is_catch_all(const RouteEntry& route) {
    return route.dst.prefix <= 1;
}

}  // namespace

VerifyOptions parse_verify_options(const std::vector<std::string>& args) {
    VerifyOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            options.help = true;
            continue;
        }
        if (!arg.starts_with("--")) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             fmt::format("verify: unexpected argument \"{}\" (see `splitnet "
                                         "verify --help`)",
                                         arg));
        }
        arg.remove_prefix(2);
        std::string name(arg.substr(0, arg.find('=')));
        std::string value;
        if (arg.find('=') != std::string_view::npos) {
            value = std::string(arg.substr(arg.find('=') + 1));
        } else if (name == "interface" || name == "primary-interface" || name == "gateway" ||
                   name == "ipv6") {
            if (i + 1 >= args.size()) {
                cni::fail_flag("verify", name, "needs a value");
            }
            value = args[++i];
        }
        if (name == "interface" || name == "primary-interface") {
            // An interface name as the kernel allows it (IFNAMSIZ, no '/' or whitespace).
            if (value.empty() || value.size() > 15 ||
                value.find_first_of("/ \t\n:") != std::string::npos) {
                cni::fail_flag("verify", name,
                               fmt::format("\"{}\" is not an interface name", value));
            }
            (name == "interface" ? options.vpn_interface : options.primary_interface) = value;
        } else if (name == "gateway") {
            options.gateway = net::parse_ip(value);
            if (!options.gateway) {
                cni::fail_flag("verify", name, fmt::format("\"{}\" is not an IP address", value));
            }
        } else if (name == "ipv6") {
            if (value == "block") {
                options.ipv6 = Ipv6Expectation::Block;
            } else if (value == "vpn") {
                options.ipv6 = Ipv6Expectation::Vpn;
            } else if (value == "any") {
                options.ipv6 = Ipv6Expectation::Any;
            } else {
                cni::fail_flag("verify", name,
                               fmt::format("expected block, vpn or any, got \"{}\"", value));
            }
        } else {
            cni::fail_flag("verify", name, "unknown flag");
        }
    }
    return options;
}

std::string verify_usage() {
    return "usage: splitnet verify [flags]\n"
           "\n"
           "Checks the network namespace it runs in (an init container shares the pod's) for\n"
           "splitnet's VPN attachment and its fail-closed egress policy. Exits 0 when the pod is\n"
           "protected, 1 naming every problem otherwise, 2 for a bad flag. Needs no API access\n"
           "and no capability.\n"
           "\n"
           "flags:\n"
           "  --interface=NAME          the VPN interface (default net1)\n"
           "  --primary-interface=NAME  the cluster interface (default eth0)\n"
           "  --gateway=IP              the IPv4 (or IPv6) default via the VPN interface must use\n"
           "                            this gateway (default: any gateway)\n"
           "  --ipv6=block|vpn|any      block: no IPv6 default anywhere and the IPv6 kill switch\n"
           "                            (egress ipv6 \"block\", the default); vpn: IPv6 default "
           "only\n"
           "                            via the VPN interface (\"route\"); any: not checked "
           "(\"allow\")\n"
           "  --help                    this text\n";
}

std::vector<std::string> verify_problems(const VerifyOptions& options,
                                         const NetnsSnapshot& snapshot) {
    std::vector<std::string> problems;
    const auto& vpn = options.vpn_interface;
    const auto link = std::find_if(snapshot.links.begin(), snapshot.links.end(),
                                   [&](const LinkState& l) { return l.name == vpn; });
    if (link == snapshot.links.end()) {
        problems.push_back(fmt::format(
            "the VPN interface {} is missing: the pod was set up without splitnet's VPN "
            "attachment (was splitnet's node config in place when the pod started?)",
            vpn));
    } else if (!link->up) {
        problems.push_back(fmt::format("the VPN interface {} is down", vpn));
    }

    std::vector<net::Family> families = {net::Family::V4};
    if (options.ipv6 != Ipv6Expectation::Any) {
        families.push_back(net::Family::V6);
    }
    const bool has_ipv6 = std::any_of(snapshot.routes.begin(), snapshot.routes.end(),
                                      [](const RouteEntry& r) { return !r.dst.is_v4(); });
    for (const auto family : families) {
        const bool v4 = family == net::Family::V4;
        // IPv6 switched off in the netns (no IPv6 route at all, not even ::1): nothing can leak.
        if (!v4 && !has_ipv6) {
            continue;
        }
        const auto in_family = [&](const RouteEntry& r) { return r.dst.family() == family; };
        const bool vpn_default_expected = v4 || options.ipv6 == Ipv6Expectation::Vpn;
        const bool gateway_applies = options.gateway && options.gateway->family == family;
        bool vpn_default = false;
        bool kill_switch = false;
        for (const auto& route : snapshot.routes) {
            if (!in_family(route) || route.table == RouteEntry::kLocalTable) {
                continue;
            }
            if (is_kill_switch(route)) {
                kill_switch = kill_switch ||
                              (route.dst.is_default() && route.table == RouteEntry::kMainTable);
                continue;
            }
            if (!is_catch_all(route)) {
                continue;
            }
            const bool via_vpn = route.dev == vpn && vpn_default_expected;
            if (via_vpn && route.dst.is_default() && route.table == RouteEntry::kMainTable) {
                if (gateway_applies && route.gateway != options.gateway) {
                    problems.push_back(fmt::format(
                        "{} goes to {}, not to the VPN gateway {}", route.describe(),
                        route.gateway ? net::to_string(*route.gateway) : std::string("no gateway"),
                        net::to_string(*options.gateway)));
                } else {
                    vpn_default = true;
                }
                continue;
            }
            if (via_vpn) {
                continue;
            }
            if (route.dev == options.primary_interface) {
                problems.push_back(fmt::format(
                    "{} sends {} traffic out via the cluster interface {}, past the VPN",
                    route.describe(), net::family_name(family), route.dev));
            } else if (!v4 && options.ipv6 == Ipv6Expectation::Block) {
                problems.push_back(
                    fmt::format("{} routes IPv6 to the outside, which is to be "
                                "blocked",
                                route.describe()));
            } else {
                problems.push_back(fmt::format("{} sends {} traffic out past the VPN interface {}",
                                               route.describe(), net::family_name(family), vpn));
            }
        }
        if (vpn_default_expected && !vpn_default) {
            problems.push_back(fmt::format(
                "no {} default route via the VPN interface {}{}", net::family_name(family), vpn,
                gateway_applies ? " and gateway " + net::to_string(*options.gateway) : ""));
        }
        if (!kill_switch) {
            problems.push_back(fmt::format(
                "the {} kill switch is missing: no unreachable default route in the main table, "
                "so traffic would take any other way out once the VPN default is gone",
                net::family_name(family)));
        }
    }
    return problems;
}

}  // namespace splitnet::agent
