#include "splitnet/egress/config.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::egress {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kKnownKeys = {
    "gateway", "keep", "ipv6", "probeGateway", "probeConflict", "probeTarget", "dns"};

void reject_unknown_keys(const json& block) {
    for (const auto& [key, value] : block.items()) {
        if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) != kKnownKeys.end()) {
            continue;
        }
        for (const auto known : kKnownKeys) {
            if (util::iequals(known, key)) {
                cni::fail_key("egress",
                              fmt::format(R"(unknown key "{}" (did you mean "{}"?))", key, known));
            }
        }
        cni::fail_key("egress", fmt::format("unknown key \"{}\" (known keys: gateway, keep, ipv6, "
                                            "probeGateway, probeConflict, probeTarget, dns)",
                                            key));
    }
}

// The offending value in an error message, clipped: it comes from an untrusted NAD.
std::string quoted(const json& value) {
    constexpr std::size_t kQuoteLimit = 256;
    return util::clip(util::dump_json(value), kQuoteLimit);
}

const std::string& expect_string(const json& value, const std::string& key) {
    if (!value.is_string()) {
        cni::fail_key(key, fmt::format("must be a string, got {}", quoted(value)));
    }
    return value.get_ref<const std::string&>();
}

void parse_gateway_value(const json& value, const std::string& key, EgressConfig& out) {
    const auto& text = expect_string(value, key);
    const auto address = net::parse_ip(text);
    if (!address) {
        cni::fail_key(key, fmt::format("\"{}\" is not an IP address", text));
    }
    auto& slot = address->is_v4() ? out.gateway4 : out.gateway6;
    if (slot) {
        cni::fail_key(key,
                      fmt::format("more than one IPv{} gateway", net::ip_version(address->family)));
    }
    slot = address;
}

void parse_gateway(const json& value, EgressConfig& out) {
    if (value.is_array()) {
        if (value.empty() || value.size() > 2) {
            cni::fail_key("egress.gateway", "a list must hold one IPv4 and/or one IPv6 address");
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
            parse_gateway_value(value[i], fmt::format("egress.gateway[{}]", i), out);
        }
        return;
    }
    parse_gateway_value(value, "egress.gateway", out);
}

KeepEntry parse_keep_entry(const json& value, const std::string& key) {
    const auto& text = expect_string(value, key);
    if (text == "cluster") {
        return {KeepEntry::Kind::Cluster, {}};
    }
    if (text == "private") {
        return {KeepEntry::Kind::Private, {}};
    }
    const auto cidr = net::parse_cidr(text, kEgressCidrSyntax);
    if (!cidr) {
        cni::fail_key(key,
                      fmt::format(R"("{}" is neither a preset ("cluster", "private") nor a CIDR )"
                                  "such as \"10.42.0.0/16\"",
                                  text));
    }
    if (cidr->has_host_bits()) {
        cni::fail_key(key, fmt::format(R"("{}" has host bits set; did you mean "{}"?)", text,
                                       net::to_string(cidr->network())));
    }
    if (cidr->is_default()) {
        cni::fail_key(
            key, fmt::format("\"{}\" would keep everything on the primary interface; remove the "
                             "egress block instead",
                             text));
    }
    return {KeepEntry::Kind::Cidr, *cidr};
}

std::vector<KeepEntry> parse_keep(const json& value) {
    if (!value.is_array()) {
        cni::fail_key("egress.keep",
                      fmt::format("must be a list of presets or CIDRs, got {}", quoted(value)));
    }
    std::vector<KeepEntry> out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        out.push_back(parse_keep_entry(value[i], fmt::format("egress.keep[{}]", i)));
    }
    return out;
}

// One word of a fixed set, e.g. egress.ipv6: "block", "allow" or "route".
template <typename Choice, std::size_t N>
Choice parse_choice(const json& value, const std::string& key,
                    const std::array<std::pair<std::string_view, Choice>, N>& choices) {
    const auto& text = expect_string(value, key);
    for (const auto& [word, choice] : choices) {
        if (text == word) {
            return choice;
        }
    }
    std::string words;
    for (const auto& [word, choice] : choices) {
        words += fmt::format(R"({}"{}")", words.empty() ? "" : ", ", word);
    }
    cni::fail_key(key, fmt::format(R"("{}" is not one of {})", text, words));
}

Ipv6Policy parse_ipv6(const json& value) {
    return parse_choice<Ipv6Policy, 3>(value, "egress.ipv6",
                                       {{{"block", Ipv6Policy::Block},
                                         {"allow", Ipv6Policy::Allow},
                                         {"route", Ipv6Policy::Route}}});
}

GatewayProbe parse_probe_gateway(const json& value) {
    return parse_choice<GatewayProbe, 3>(value, "egress.probeGateway",
                                         {{{"off", GatewayProbe::Off},
                                           {"warn", GatewayProbe::Warn},
                                           {"require", GatewayProbe::Require}}});
}

DnsSplit parse_dns_split(const json& value) {
    if (!value.is_object()) {
        cni::fail_key("egress.dns",
                      fmt::format(R"(must be an object such as {{"servers": ["192.0.2.53"]}}, )"
                                  "got {}",
                                  quoted(value)));
    }
    for (const auto& [key, unused] : value.items()) {
        if (key != "servers" && key != "clusterDomain") {
            cni::fail_key("egress.dns",
                          fmt::format(R"(unknown key "{}" (known keys: servers, clusterDomain))",
                                      util::clip(key, 64)));
        }
    }
    DnsSplit out;
    const auto servers = value.find("servers");
    if (servers == value.end() || !servers->is_array() || servers->empty() ||
        servers->size() > kMaxDnsServers) {
        cni::fail_key(
            "egress.dns.servers",
            fmt::format("must be a list of 1 to {} resolver IP addresses reached through the "
                        "VPN, e.g. [\"192.0.2.53\"]",
                        kMaxDnsServers));
    }
    for (std::size_t i = 0; i < servers->size(); ++i) {
        const auto key = fmt::format("egress.dns.servers[{}]", i);
        const auto& text = expect_string((*servers)[i], key);
        const auto address = net::parse_ip(text);
        if (!address) {
            cni::fail_key(key,
                          fmt::format("{} is not an IP address (a host name cannot be resolved "
                                      "before DNS works)",
                                      quoted((*servers)[i])));
        }
        out.servers.push_back(*address);
    }
    if (const auto domain = value.find("clusterDomain"); domain != value.end()) {
        auto text = util::ascii_lower(expect_string(*domain, "egress.dns.clusterDomain"));
        if (!is_dns_name(text)) {
            cni::fail_key(
                "egress.dns.clusterDomain",
                fmt::format("{} is not a DNS name such as \"cluster.local\"", quoted(*domain)));
        }
        out.cluster_domain = std::move(text);
    }
    return out;
}

net::IpNet parse_context_prefix(const json& value, const std::string& key) {
    const auto& text = expect_string(value, key);
    const auto prefix = net::parse_cidr(text, kEgressCidrSyntax);
    if (!prefix) {
        cni::fail_key(key, fmt::format("\"{}\" is not a CIDR", text));
    }
    return prefix->network();
}

void add_unique(std::vector<net::IpNet>& list, const net::IpNet& prefix) {
    if (std::find(list.begin(), list.end(), prefix) == list.end()) {
        list.push_back(prefix);
    }
}

void read_primary_result(const json& result, SplitnetContext& out) {
    const std::string base = "splitnetContext.primaryResult";
    if (!result.is_object()) {
        cni::fail_key(base, "must be a CNI result object");
    }
    if (const auto ips = result.find("ips"); ips != result.end() && !ips->is_null()) {
        if (!ips->is_array()) {
            cni::fail_key(base + ".ips", "must be a list");
        }
        for (std::size_t i = 0; i < ips->size(); ++i) {
            const auto& ip = (*ips)[i];
            const auto key = fmt::format("{}.ips[{}].address", base, i);
            if (!ip.is_object() || !ip.contains("address")) {
                cni::fail_key(key, "missing");
            }
            add_unique(out.cluster_cidrs, parse_context_prefix(ip["address"], key));
        }
    }
    if (const auto routes = result.find("routes"); routes != result.end() && !routes->is_null()) {
        if (!routes->is_array()) {
            cni::fail_key(base + ".routes", "must be a list");
        }
        for (std::size_t i = 0; i < routes->size(); ++i) {
            const auto& route = (*routes)[i];
            const auto key = fmt::format("{}.routes[{}].dst", base, i);
            if (!route.is_object() || !route.contains("dst")) {
                cni::fail_key(key, "missing");
            }
            const auto dst = parse_context_prefix(route["dst"], key);
            // The default route is the primary's way out, exactly what egress replaces.
            if (!dst.is_default()) {
                add_unique(out.cluster_cidrs, dst);
            }
        }
    }
}

}  // namespace

std::optional<ProbeTarget> parse_probe_target(std::string_view text) {
    constexpr std::string_view kScheme = "tcp://";
    if (!text.starts_with(kScheme)) {
        return std::nullopt;
    }
    const auto split = util::split_host_port(text.substr(kScheme.size()));
    if (!split) {
        return std::nullopt;
    }
    const auto address = net::parse_ip(split->host);
    if (!address || !address->is_v4() != split->bracketed) {
        return std::nullopt;
    }
    return ProbeTarget{*address, split->port};
}

std::string to_string(const ProbeTarget& target) {
    return target.address.is_v4()
               ? fmt::format("tcp://{}:{}", net::to_string(target.address), target.port)
               : fmt::format("tcp://[{}]:{}", net::to_string(target.address), target.port);
}

bool is_dns_name(std::string_view text) {
    constexpr std::size_t kMaxName = 253;
    constexpr std::size_t kMaxLabel = 63;
    if (text.empty() || text.size() > kMaxName) {
        return false;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('.', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto label = text.substr(start, end - start);
        if (label.empty() || label.size() > kMaxLabel || label.front() == '-' ||
            label.back() == '-') {
            return false;
        }
        for (const char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-';
            if (!ok) {
                return false;
            }
        }
        start = end + 1;
    }
    return true;
}

std::optional<EgressConfig> parse_egress_config(const json& plugin_conf) {
    const auto it = plugin_conf.find(kEgressKey);
    if (it == plugin_conf.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_object()) {
        cni::fail_key("egress", fmt::format("must be an object, got {}", it->dump()));
    }
    const json& block = *it;
    reject_unknown_keys(block);
    EgressConfig out;
    if (const auto v = block.find("gateway"); v != block.end()) {
        parse_gateway(*v, out);
    }
    if (const auto v = block.find("keep"); v != block.end()) {
        out.keep = parse_keep(*v);
    }
    if (const auto v = block.find("ipv6"); v != block.end()) {
        out.ipv6 = parse_ipv6(*v);
    }
    if (const auto v = block.find("probeGateway"); v != block.end()) {
        out.probe_gateway = parse_probe_gateway(*v);
    }
    if (const auto v = block.find("probeConflict"); v != block.end()) {
        if (!v->is_boolean()) {
            cni::fail_key("egress.probeConflict",
                          fmt::format("must be true or false, got {}", v->dump()));
        }
        out.probe_conflict = v->get<bool>();
    }
    if (const auto v = block.find("probeTarget"); v != block.end()) {
        const auto& text = expect_string(*v, "egress.probeTarget");
        out.probe_target = parse_probe_target(text);
        if (!out.probe_target) {
            cni::fail_key(
                "egress.probeTarget",
                fmt::format("{} is not tcp://ADDRESS:PORT, e.g. \"tcp://1.1.1.1:443\" (an IP "
                            "address, never a host name)",
                            quoted(*v)));
        }
        if (!out.probe_target->address.is_v4() && block.value("ipv6", "") != "route") {
            cni::fail_key("egress.probeTarget",
                          fmt::format(R"(an IPv6 target ({}) needs "ipv6": "route")",
                                      to_string(*out.probe_target)));
        }
    }
    if (const auto v = block.find("dns"); v != block.end() && !v->is_null()) {
        out.dns = parse_dns_split(*v);
        for (std::size_t i = 0; i < out.dns->servers.size(); ++i) {
            if (!out.dns->servers[i].is_v4() && out.ipv6 != Ipv6Policy::Route) {
                cni::fail_key(fmt::format("egress.dns.servers[{}]", i),
                              fmt::format(R"(an IPv6 resolver ({}) needs "ipv6": "route")",
                                          net::to_string(out.dns->servers[i])));
            }
        }
    }
    if (out.gateway6 && out.ipv6 != Ipv6Policy::Route) {
        cni::fail_key("egress.gateway", fmt::format(R"(an IPv6 gateway ({}) needs "ipv6": "route")",
                                                    net::to_string(*out.gateway6)));
    }
    return out;
}

SplitnetContext parse_splitnet_context(const json& plugin_conf) {
    SplitnetContext out;
    const auto it = plugin_conf.find(kContextKey);
    if (it == plugin_conf.end() || it->is_null()) {
        return out;
    }
    if (!it->is_object()) {
        cni::fail_key(kContextKey, "must be an object");
    }
    out.present = true;
    const json& ctx = *it;
    if (const auto v = ctx.find("primaryIfname"); v != ctx.end() && !v->is_null()) {
        out.primary_ifname = expect_string(*v, "splitnetContext.primaryIfname");
        if (out.primary_ifname.empty()) {
            cni::fail_key("splitnetContext.primaryIfname", "must not be empty");
        }
    }
    if (const auto v = ctx.find("clusterCIDRs"); v != ctx.end() && !v->is_null()) {
        if (!v->is_array()) {
            cni::fail_key("splitnetContext.clusterCIDRs", "must be a list of CIDRs");
        }
        for (std::size_t i = 0; i < v->size(); ++i) {
            add_unique(
                out.cluster_cidrs,
                parse_context_prefix((*v)[i], fmt::format("splitnetContext.clusterCIDRs[{}]", i)));
        }
    }
    if (const auto v = ctx.find("clusterDNS"); v != ctx.end() && !v->is_null()) {
        const auto& text = expect_string(*v, "splitnetContext.clusterDNS");
        out.cluster_dns = net::parse_ip(text);
        if (!out.cluster_dns) {
            cni::fail_key("splitnetContext.clusterDNS",
                          fmt::format("\"{}\" is not an IP address", text));
        }
    }
    if (const auto v = ctx.find("primaryResult"); v != ctx.end() && !v->is_null()) {
        read_primary_result(*v, out);
    }
    return out;
}

EgressStep parse_egress_step(const json& plugin_conf) {
    const auto egress = plugin_conf.find(kEgressKey);
    const auto ctx = plugin_conf.find(kContextKey);
    if (egress == plugin_conf.end() || egress->is_null() || ctx == plugin_conf.end() ||
        !ctx->is_object()) {
        return EgressStep::Whole;
    }
    const auto v = ctx->find("egressStep");
    if (v == ctx->end() || v->is_null()) {
        return EgressStep::Whole;
    }
    const auto& step = expect_string(*v, "splitnetContext.egressStep");
    if (step == "beforePolicy") {
        return EgressStep::BeforePolicy;
    }
    if (step == "policy") {
        return EgressStep::PolicyOnly;
    }
    cni::fail_key("splitnetContext.egressStep",
                  fmt::format(R"("{}" is not "beforePolicy" or "policy")", step));
}

std::vector<net::IpNet> private_prefixes() {
    return {*net::parse_cidr("10.0.0.0/8"), *net::parse_cidr("172.16.0.0/12"),
            *net::parse_cidr("192.168.0.0/16")};
}

}  // namespace splitnet::egress
