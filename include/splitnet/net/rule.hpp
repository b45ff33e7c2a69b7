#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splitnet/net/ip.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::net {

/// One policy-routing rule (`ip rule`). Unset fields are not matched.
struct RuleSpec {
    int family = 0;                         ///< AF_INET / AF_INET6
    std::optional<std::uint32_t> priority;  ///< unset on add: the kernel picks one
    std::optional<IpNet> src;
    std::optional<IpNet> dst;
    std::optional<std::uint32_t> fwmark;
    std::optional<std::uint32_t> fwmask;
    std::string iif;
    std::string oif;
    std::uint32_t table = 0;  ///< lookup table (FR_ACT_TO_TBL)
    /// FR_ACT_* (1 = to table, 6 = unreachable, 7 = prohibit, 8 = blackhole).
    int action = 1;

    bool operator==(const RuleSpec&) const = default;
};

/// Adds a rule (NLM_F_CREATE|NLM_F_EXCL; an identical existing rule is accepted when
/// `exist_ok`).
void add_rule(Netlink& nl, const RuleSpec& rule, bool exist_ok = false);

/// Deletes the first matching rule; false when none matched.
bool delete_rule(Netlink& nl, const RuleSpec& rule);

/// Rules of one family (dump, retried when interrupted).
std::vector<RuleSpec> list_rules(Netlink& nl, int family);

std::string describe(const RuleSpec& rule);

}  // namespace splitnet::net
