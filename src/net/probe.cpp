#include "splitnet/net/probe.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <poll.h>
#include <string>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/net/netns.hpp"
#include "splitnet/net/probe_packet.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::net {

namespace {

using Clock = std::chrono::steady_clock;
using Matcher = std::function<std::optional<MacAddr>(std::span<const std::uint8_t>)>;

[[noreturn]] void fail_errno(const std::string& what) {
    const int err = errno;
    throw KernelError(fmt::format("{}: {}", what, errno_text(err)), err);
}

struct Iface {
    int index = 0;
    MacAddr mac{};
};

void fill_ifreq(ifreq& req, std::string_view ifname) {
    std::memset(&req, 0, sizeof(req));
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
        throw KernelError(fmt::format("bad interface name \"{}\"", ifname));
    }
    std::memcpy(req.ifr_name, ifname.data(), ifname.size());
}

/// Index, MAC and up-state through the socket itself: ioctls resolve names in the netns the
/// socket was created in.
Iface query_iface(int fd, std::string_view ifname) {
    Iface out;
    ifreq req{};
    fill_ifreq(req, ifname);
    if (::ioctl(fd, SIOCGIFINDEX, &req) != 0) {
        fail_errno(fmt::format("probe: no interface \"{}\" in the pod netns", ifname));
    }
    out.index = req.ifr_ifindex;
    fill_ifreq(req, ifname);
    if (::ioctl(fd, SIOCGIFHWADDR, &req) != 0) {
        fail_errno(fmt::format("probe: cannot read the MAC of \"{}\"", ifname));
    }
    std::memcpy(out.mac.data(), req.ifr_hwaddr.sa_data, out.mac.size());
    fill_ifreq(req, ifname);
    if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) {
        fail_errno(fmt::format("probe: cannot read the flags of \"{}\"", ifname));
    }
    if ((req.ifr_flags & IFF_UP) == 0) {
        throw KernelError(
            fmt::format("probe: interface \"{}\" is down; bring it up first", ifname));
    }
    return out;
}

/// Sends `send()` up to `attempts` times and listens `interval` after each for a packet that
/// `match` accepts. Outgoing copies (packet sockets see them) are filtered by `incoming`.
std::optional<MacAddr> exchange(int fd, const ProbeOptions& options,
                                const std::function<void()>& send, const Matcher& match,
                                bool packet_socket) {
    std::array<std::uint8_t, 1500> buf{};
    for (int attempt = 0; attempt < options.attempts; ++attempt) {
        send();
        const auto deadline = Clock::now() + options.interval;
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) {
                break;
            }
            pollfd pfd{fd, POLLIN, 0};
            const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) {
                continue;
            }
            if (ready < 0) {
                fail_errno("probe: poll");
            }
            if (ready == 0) {
                break;
            }
            sockaddr_storage from{};
            socklen_t from_len = sizeof(from);
            const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                         reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    continue;
                }
                fail_errno("probe: recvfrom");
            }
            if (packet_socket &&
                reinterpret_cast<const sockaddr_ll*>(&from)->sll_pkttype == PACKET_OUTGOING) {
                continue;
            }
            if (auto mac =
                    match(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)))) {
                return mac;
            }
        }
    }
    return std::nullopt;
}

struct ArpSocket {
    util::UniqueFd fd;
    Iface iface;
};

ArpSocket open_arp_socket(int netns_fd, std::string_view ifname) {
    // The socket belongs to the pod netns for its whole life; only its creation needs the switch.
    NetnsGuard guard(netns_fd);
    ArpSocket out;
    out.fd.reset(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
    if (!out.fd.valid()) {
        fail_errno("probe: socket(AF_PACKET)");
    }
    out.iface = query_iface(out.fd.get(), ifname);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ARP);
    addr.sll_ifindex = out.iface.index;
    if (::bind(out.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        fail_errno(fmt::format("probe: bind packet socket to \"{}\"", ifname));
    }
    return out;
}

void send_arp(const ArpSocket& sock, const std::vector<std::uint8_t>& payload) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = sock.iface.index;
    to.sll_halen = ETH_ALEN;
    std::memset(to.sll_addr, 0xff, ETH_ALEN);  // broadcast
    if (::sendto(sock.fd.get(), payload.data(), payload.size(), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0) {
        fail_errno("probe: send ARP");
    }
}

void require_v4(const IpAddr& addr, const char* what) {
    if (!addr.is_v4()) {
        throw KernelError(fmt::format("probe: {} {} is not IPv4", what, to_string(addr)));
    }
}

}  // namespace

std::optional<MacAddr> arp_probe_conflict(int netns_fd, std::string_view ifname,
                                          const IpAddr& address, const ProbeOptions& options) {
    require_v4(address, "address");
    const auto sock = open_arp_socket(netns_fd, ifname);
    const auto payload = encode_arp_request(sock.iface.mac, zero_address(Family::V4), address);
    return exchange(
        sock.fd.get(), options, [&] { send_arp(sock, payload); },
        [&](auto packet) { return arp_conflict_in(packet, address, sock.iface.mac); }, true);
}

std::optional<MacAddr> arp_resolve(int netns_fd, std::string_view ifname, const IpAddr& sender,
                                   const IpAddr& target, const ProbeOptions& options) {
    require_v4(sender, "sender");
    require_v4(target, "target");
    const auto sock = open_arp_socket(netns_fd, ifname);
    const auto payload = encode_arp_request(sock.iface.mac, sender, target);
    return exchange(
        sock.fd.get(), options, [&] { send_arp(sock, payload); },
        [&](auto packet) { return arp_reply_from(packet, target); }, true);
}

std::optional<MacAddr> ndp_resolve(int netns_fd, std::string_view ifname, const IpAddr& source,
                                   const IpAddr& target, const ProbeOptions& options) {
    if (source.is_v4() || target.is_v4()) {
        throw KernelError("probe: NDP needs IPv6 addresses");
    }
    util::UniqueFd fd;
    Iface iface;
    {
        NetnsGuard guard(netns_fd);
        fd.reset(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
        if (!fd.valid()) {
            fail_errno("probe: socket(AF_INET6, SOCK_RAW, ICMPv6)");
        }
        iface = query_iface(fd.get(), ifname);
        const std::string name(ifname);
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, name.c_str(),
                         static_cast<socklen_t>(name.size())) != 0) {
            fail_errno(fmt::format("probe: bind ICMPv6 socket to \"{}\"", ifname));
        }
    }
    icmp6_filter filter{};
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filter);
    const int hops = 255;  // RFC 4861: receivers drop NDP with any other hop limit
    if (::setsockopt(fd.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) != 0 ||
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) != 0 ||
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &iface.index,
                     sizeof(iface.index)) != 0) {
        fail_errno("probe: set ICMPv6 socket options");
    }
    sockaddr_in6 local{};
    local.sin6_family = AF_INET6;
    std::memcpy(&local.sin6_addr, source.bytes.data(), 16);
    local.sin6_scope_id = static_cast<std::uint32_t>(iface.index);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
        fail_errno(
            fmt::format("probe: bind to {} on \"{}\" (is the address assigned and not "
                        "tentative?)",
                        to_string(source), ifname));
    }
    const auto payload = encode_neighbour_solicitation(iface.mac, target);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    const auto group = solicited_node_group(target);
    std::memcpy(&to.sin6_addr, group.bytes.data(), 16);
    to.sin6_scope_id = static_cast<std::uint32_t>(iface.index);
    return exchange(
        fd.get(), options,
        [&] {
            if (::sendto(fd.get(), payload.data(), payload.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof(to)) < 0) {
                fail_errno("probe: send neighbour solicitation");
            }
        },
        [&](auto packet) { return neighbour_advert_for(packet, target); }, false);
}

bool tcp_connect_probe(int netns_fd, std::string_view ifname, const IpAddr& address,
                       std::uint16_t port, std::chrono::milliseconds timeout) {
    util::UniqueFd fd;
    {
        NetnsGuard guard(netns_fd);
        fd.reset(::socket(address_family(address.family),
                          SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd.valid()) {
            fail_errno("probe: socket(SOCK_STREAM)");
        }
        ifreq req{};
        fill_ifreq(req, ifname);
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, req.ifr_name,
                         static_cast<socklen_t>(ifname.size())) != 0) {
            fail_errno(fmt::format("probe: bind TCP socket to \"{}\"", ifname));
        }
    }
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (address.is_v4()) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        std::memcpy(&v4->sin_addr, address.bytes.data(), 4);
        to_len = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        std::memcpy(&v6->sin6_addr, address.bytes.data(), 16);
        to_len = sizeof(sockaddr_in6);
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), to_len) == 0) {
        return true;
    }
    if (errno != EINPROGRESS) {
        return false;  // no route via the interface (the kill switch), refused, ...
    }
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd pfd{fd.get(), POLLOUT, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        int error = 0;
        socklen_t len = sizeof(error);
        return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
    }
}

}  // namespace splitnet::net
