#include "splitnet/net/rule.hpp"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "splitnet/net/nl_addr.hpp"

namespace splitnet::net {

namespace {

RulePtr build(const RuleSpec& spec) {
    RulePtr rule(rtnl_rule_alloc());
    if (!rule) {
        throw cni::Error(cni::ErrorCode::Internal, "rtnl_rule_alloc failed: out of memory");
    }
    rtnl_rule_set_family(rule.get(), spec.family);
    if (spec.priority) {
        rtnl_rule_set_prio(rule.get(), *spec.priority);
    }
    if (spec.src) {
        const auto src = make_nl_addr(*spec.src);
        rtnl_rule_set_src(rule.get(), src.get());
    }
    if (spec.dst) {
        const auto dst = make_nl_addr(*spec.dst);
        rtnl_rule_set_dst(rule.get(), dst.get());
    }
    if (spec.fwmark) {
        rtnl_rule_set_mark(rule.get(), *spec.fwmark);
    }
    if (spec.fwmask) {
        rtnl_rule_set_mask(rule.get(), *spec.fwmask);
    }
    if (!spec.iif.empty()) {
        rtnl_rule_set_iif(rule.get(), spec.iif.c_str());
    }
    if (!spec.oif.empty()) {
        rtnl_rule_set_oif(rule.get(), spec.oif.c_str());
    }
    if (spec.table != 0) {
        rtnl_rule_set_table(rule.get(), spec.table);
    }
    rtnl_rule_set_action(rule.get(), static_cast<std::uint8_t>(spec.action));
    return rule;
}

}  // namespace

std::string describe(const RuleSpec& rule) {
    std::string out = rule.family == AF_INET6 ? "-6" : "-4";
    if (rule.priority) {
        out += fmt::format(" pref {}", *rule.priority);
    }
    if (rule.src) {
        out += " from " + to_string(*rule.src);
    }
    if (rule.dst) {
        out += " to " + to_string(*rule.dst);
    }
    if (rule.fwmark) {
        out += fmt::format(" fwmark {:#x}", *rule.fwmark);
        if (rule.fwmask) {
            out += fmt::format("/{:#x}", *rule.fwmask);
        }
    }
    if (!rule.iif.empty()) {
        out += " iif " + rule.iif;
    }
    if (!rule.oif.empty()) {
        out += " oif " + rule.oif;
    }
    if (rule.action == FR_ACT_TO_TBL) {
        out += fmt::format(" lookup {}", rule.table);
    } else {
        out += fmt::format(" action {}", rule.action);
    }
    return out;
}

void add_rule(Netlink& nl, const RuleSpec& rule, bool exist_ok) {
    auto obj = build(rule);
    nl.clear_errno();
    const int rc = rtnl_rule_add(nl.sock(), obj.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (rc == -NLE_EXIST && exist_ok) {
        return;
    }
    nl.check(rc, fmt::format("add rule '{}'", describe(rule)));
}

bool delete_rule(Netlink& nl, const RuleSpec& rule) {
    auto obj = build(rule);
    nl.clear_errno();
    const int rc = rtnl_rule_delete(nl.sock(), obj.get(), 0);
    if (rc == -NLE_OBJ_NOTFOUND) {
        return false;
    }
    nl.check(rc, fmt::format("delete rule '{}'", describe(rule)));
    return true;
}

std::vector<RuleSpec> list_rules(Netlink& nl, int family) {
    std::vector<RuleSpec> out;
    nl.dump(
        RTM_GETRULE, family, [&] { out.clear(); },
        [&](nl_object* obj) {
            auto* rule = reinterpret_cast<rtnl_rule*>(obj);  // NOLINT: libnl object cast
            const int fam = rtnl_rule_get_family(rule);
            if (family != AF_UNSPEC && fam != family) {
                return;
            }
            RuleSpec spec;
            spec.family = fam;
            spec.priority = rtnl_rule_get_prio(rule);
            if (nl_addr* src = rtnl_rule_get_src(rule);
                src != nullptr && nl_addr_get_prefixlen(src) > 0) {
                spec.src = ip_net_from_nl(src, fam == AF_INET6 ? Family::V6 : Family::V4);
            }
            if (nl_addr* dst = rtnl_rule_get_dst(rule);
                dst != nullptr && nl_addr_get_prefixlen(dst) > 0) {
                spec.dst = ip_net_from_nl(dst, fam == AF_INET6 ? Family::V6 : Family::V4);
            }
            const auto mark = rtnl_rule_get_mark(rule);
            const auto mask = rtnl_rule_get_mask(rule);
            // libnl reports an unset mark/mask as 0 or 0xffffffff depending on the version.
            if (mark != 0 && mark != 0xffffffffU) {
                spec.fwmark = mark;
                if (mask != 0xffffffffU && mask != 0) {
                    spec.fwmask = mask;
                }
            }
            if (const char* iif = rtnl_rule_get_iif(rule); iif != nullptr) {
                spec.iif = iif;
            }
            if (const char* oif = rtnl_rule_get_oif(rule); oif != nullptr) {
                spec.oif = oif;
            }
            spec.table = rtnl_rule_get_table(rule);
            spec.action = rtnl_rule_get_action(rule);
            out.push_back(std::move(spec));
        },
        fmt::format("list rules of family {}", family));
    return out;
}

}  // namespace splitnet::net
