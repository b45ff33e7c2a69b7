#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "splitnet/net/ip.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::net {

/// Kernel macvlan modes (linux/if_link.h MACVLAN_MODE_*).
enum class MacvlanMode { Private, Vepa, Bridge, Passthru, Source };

std::string_view to_string(MacvlanMode mode);

/// "private", "vepa", "bridge", "passthru", "source"; nullopt otherwise ("" is not a mode here:
/// the config layer decides the default).
std::optional<MacvlanMode> parse_macvlan_mode(std::string_view text);

/// What the kernel reports for one link.
struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind;  ///< IFLA_INFO_KIND ("macvlan", "veth", "" for physical/loopback)
    std::string mac;   ///< lower-case colon form, "" when the link has no address
    unsigned mtu = 0;
    unsigned flags = 0;                       ///< IFF_*
    int parent_index = 0;                     ///< IFLA_LINK (may refer to another netns)
    std::optional<MacvlanMode> macvlan_mode;  ///< only for macvlan links

    [[nodiscard]] bool is_up() const;
};

/// Looks a link up by name (RTM_GETLINK for that name only; no dumps, no caches).
std::optional<LinkInfo> find_link(Netlink& nl, std::string_view name);

std::optional<LinkInfo> find_link(Netlink& nl, int index);

/// As find_link, but a missing link is an error `Link not found` naming the link (the text of
/// vishvananda/netlink's LinkNotFoundError), code 999.
LinkInfo get_link(Netlink& nl, std::string_view name);

struct MacvlanSpec {
    std::string name;  ///< the (temporary) name to create it with
    int master_index = 0;
    MacvlanMode mode = MacvlanMode::Bridge;
    unsigned mtu = 0;  ///< 0: the kernel's default (the master's MTU)
    std::optional<MacAddr> mac;
};

/// Creates a macvlan on `master_index` (a link of the netns of `nl`) directly inside the netns
/// `target_netns_fd` (IFLA_NET_NS_FD; -1 = the netns of `nl`) with NLM_F_CREATE|NLM_F_EXCL.
/// The tx queue length is left to the kernel. Returns nothing: the new link's ifindex belongs to
/// the target netns, look it up there by name.
void create_macvlan(Netlink& nl, const MacvlanSpec& spec, int target_netns_fd = -1);

/// Deletes a link. Returns false when it was already gone.
bool delete_link(Netlink& nl, std::string_view name);

bool delete_link(Netlink& nl, int index);

/// Renames the link `index` (must be down). EEXIST when the name is taken.
void rename_link(Netlink& nl, int index, std::string_view new_name);

void set_link_up(Netlink& nl, int index, bool up = true);

}  // namespace splitnet::net
