#include "splitnet/agent/dns_split.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <span>
#include <stop_token>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/agent/dns_message.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::agent {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kDnsPort = 53;
constexpr int kListenBacklog = 64;

// `err` is read by the caller right after the failing call, before any message is built.
[[noreturn]] void fail_errno(int err, const std::string& what) {
    throw cni::Error(cni::ErrorCode::Other,
                     fmt::format("dns split: {}: {}", what, net::errno_text(err)));
}

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

SocketAddress socket_address(const net::IpAddr& ip, std::uint16_t port) {
    SocketAddress out;
    if (ip.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
        out.length = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
        out.length = sizeof(sockaddr_in6);
    }
    return out;
}

util::UniqueFd make_socket(int af, int type) {
    util::UniqueFd fd(::socket(af, type | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        fail_errno(errno, "socket");
    }
    return fd;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Waits until `fd` is readable or the deadline passes.
bool readable_before(int fd, Clock::time_point deadline) {
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
}

// Reads `size` bytes before the deadline: a client that drips bytes cannot hold the pod's
// thread longer than that.
bool read_exactly(int fd, std::uint8_t* out, std::size_t size, Clock::time_point deadline) {
    std::size_t done = 0;
    while (done < size) {
        if (!readable_before(fd, deadline)) {
            return false;
        }
        const auto n = ::recv(fd, out + done, size - done, MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
                continue;
            }
            return false;  // EOF or error
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool write_all(int fd, std::span<const std::uint8_t> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// One DNS message with its two-byte length (RFC 1035 4.2.2); nullopt on EOF, timeout or a
// length over `max_size`.
std::optional<Bytes> read_framed(int fd, Clock::time_point deadline, std::size_t max_size) {
    std::array<std::uint8_t, 2> prefix{};
    if (!read_exactly(fd, prefix.data(), prefix.size(), deadline)) {
        return std::nullopt;
    }
    const std::size_t length = (static_cast<std::size_t>(prefix[0]) << 8U) | prefix[1];
    if (length == 0 || length > max_size) {
        return std::nullopt;
    }
    Bytes message(length);
    if (!read_exactly(fd, message.data(), length, deadline)) {
        return std::nullopt;
    }
    return message;
}

bool write_framed(int fd, std::span<const std::uint8_t> message) {
    Bytes framed;
    framed.reserve(message.size() + 2);
    framed.push_back(static_cast<std::uint8_t>(message.size() >> 8U));
    framed.push_back(static_cast<std::uint8_t>(message.size() & 0xffU));
    framed.insert(framed.end(), message.begin(), message.end());
    return write_all(fd, framed);
}

/// Where an upstream query is sent from: the node's netns (this thread's own), or the pod's
/// netns bound to its egress interface, so that the query leaves through net1 whatever `keep`
/// says about the server's address.
struct Origin {
    int netns_fd = -1;   ///< -1: the node's netns
    std::string device;  ///< with netns_fd: the egress interface
};

util::UniqueFd socket_in(const Origin& origin, int af, int type) {
    if (origin.netns_fd < 0) {
        return make_socket(af, type);
    }
    return net::in_netns(origin.netns_fd, [&] {
        auto fd = make_socket(af, type);
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, origin.device.c_str(),
                         static_cast<socklen_t>(origin.device.size())) != 0) {
            const int err = errno;
            fail_errno(err, fmt::format("SO_BINDTODEVICE {}", origin.device));
        }
        return fd;
    });
}

// A connected UDP socket that has sent `query` to `server` (connect(): the kernel then hands it
// only datagrams from `server`); nullopt when that fails at once.
std::optional<util::UniqueFd> send_udp(const Origin& origin, const net::IpAddr& server,
                                       const Bytes& query) {
    auto fd = socket_in(origin, net::address_family(server.family), SOCK_DGRAM);
    const auto address = socket_address(server, kDnsPort);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) !=
            0 ||
        ::send(fd.get(), query.data(), query.size(), MSG_DONTWAIT) !=
            static_cast<ssize_t>(query.size())) {
        return std::nullopt;
    }
    return fd;
}

std::optional<Bytes> ask_tcp(const Origin& origin, const net::IpAddr& server, const Bytes& query,
                             std::uint16_t id, std::chrono::milliseconds timeout) {
    const auto fd = socket_in(origin, net::address_family(server.family), SOCK_STREAM);
    set_timeouts(fd.get(), timeout);  // connect() honours SO_SNDTIMEO
    const auto address = socket_address(server, kDnsPort);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) !=
            0 ||
        !write_framed(fd.get(), query)) {
        return std::nullopt;
    }
    auto reply = read_framed(fd.get(), Clock::now() + timeout, kMaxDnsTcpMessage);
    if (!reply || !is_reply_to(*reply, id, kMaxDnsTcpMessage)) {
        return std::nullopt;
    }
    return reply;
}

}  // namespace

// Named, not anonymous: a member of DnsSplit::PodServer, which has external linkage.
namespace dns_split_detail {

class TokenBucket {
public:
    TokenBucket(unsigned rate, unsigned burst)
        : rate_(rate), burst_(burst), tokens_(burst), last_(Clock::now()) {}

    bool take() {
        const std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        tokens_ = std::min<double>(
            burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
        last_ = now;
        if (tokens_ < 1) {
            return false;
        }
        tokens_ -= 1;
        return true;
    }

private:
    std::mutex mutex_;  ///< the pod's UDP and TCP threads both take from it
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

}  // namespace dns_split_detail

class DnsSplit::PodServer {
public:
    PodServer(DnsTarget target, const DnsSplitOptions& options, DnsSplitCounters& counters)
        : target_(std::move(target)),
          options_(options),
          counters_(counters),
          netns_(net::open_netns(target_.netns)),
          stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
          bucket_(options.queries_per_second, options.burst) {
        if (stop_.get() < 0) {
            fail_errno(errno, "eventfd");
        }
        const int af = net::address_family(options_.cluster_dns.family);
        const auto address = socket_address(options_.cluster_dns, kDnsPort);
        // Both sockets are born in the pod's netns and stay there; the bind fails unless the
        // plugin's address is on the pod's lo.
        net::in_netns(netns_.get(), [&] {
            udp_ = make_socket(af, SOCK_DGRAM);
            tcp_ = make_socket(af, SOCK_STREAM);
            return 0;
        });
        const int one = 1;
        ::setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        for (const int fd : {udp_.get(), tcp_.get()}) {
            if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) !=
                0) {
                const int err = errno;
                fail_errno(err, fmt::format("bind {}:53 in {}",
                                            net::to_string(options_.cluster_dns), target_.netns));
            }
        }
        if (::listen(tcp_.get(), kListenBacklog) != 0) {
            fail_errno(errno, "listen");
        }
        udp_thread_ = std::jthread([this] { serve(); });
        try {
            tcp_thread_ = std::jthread([this] { serve_tcp_connections(); });
        } catch (...) {
            stop();  // the UDP thread would wait for the eventfd forever
            throw;
        }
    }

    ~PodServer() { stop(); }

    PodServer(const PodServer&) = delete;
    PodServer& operator=(const PodServer&) = delete;
    PodServer(PodServer&&) = delete;
    PodServer& operator=(PodServer&&) = delete;

    [[nodiscard]] const DnsTarget& target() const { return target_; }

private:
    void stop() {
        const std::uint64_t one = 1;
        // An eventfd write fails only when its counter would overflow: never for a few writes.
        // Both threads see it: neither reads the counter back.
        [[maybe_unused]] const auto written = ::write(stop_.get(), &one, sizeof(one));
        for (auto* thread : {&udp_thread_, &tcp_thread_}) {
            if (thread->joinable()) {
                thread->join();
            }
        }
    }

    /// A UDP query waiting for its upstream: the pod's UDP thread never blocks on one, so a silent
    /// VPN resolver does not hold up the pod's cluster lookups.
    struct Pending {
        util::UniqueFd upstream;
        Bytes query;
        sockaddr_storage peer{};
        socklen_t peer_length = 0;
        std::uint16_t id = 0;
        bool cluster = false;
        std::size_t next_server = 0;
        Clock::time_point deadline;
        bool done = false;
    };

    static constexpr std::size_t kMaxPending = 64;

    [[nodiscard]] const std::vector<net::IpAddr>& servers_for(bool cluster) const {
        return cluster ? cluster_server_ : target_.servers;
    }

    // Sends the query to the next server that takes it; false (and counted) when none is left.
    bool send_next(Pending& p) {
        const auto& servers = servers_for(p.cluster);
        const Origin origin = p.cluster ? Origin{} : Origin{netns_.get(), target_.ifname};
        while (p.next_server < servers.size()) {
            const auto& server = servers[p.next_server++];
            try {
                if (auto fd = send_udp(origin, server, p.query)) {
                    p.upstream = std::move(*fd);
                    p.deadline = Clock::now() + options_.upstream_timeout;
                    return true;
                }
            } catch (const cni::Error& e) {
                // E.g. net1 is gone (the kill switch holds): debug only, since a pod could
                // otherwise fill the log at its query rate.
                spdlog::debug("dns split: {}: {}", target_.netns, e.what());
            } catch (const net::KernelError& e) {  // e.g. the pod's netns is gone
                spdlog::debug("dns split: {}: {}", target_.netns, e.what());
            }
        }
        ++counters_.failed;
        p.done = true;
        return false;
    }

    void read_upstream(Pending& p) {
        Bytes reply(kMaxDnsMessage + 1);
        while (!p.done) {
            const auto n =
                ::recv(p.upstream.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_TRUNC);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno != EAGAIN) {
                    send_next(p);  // e.g. ECONNREFUSED from an ICMP port unreachable
                }
                return;
            }
            const auto size = static_cast<std::size_t>(n);
            if (size <= kMaxDnsMessage && is_reply_to(std::span(reply).first(size), p.id)) {
                ::sendto(udp_.get(), reply.data(), size, MSG_DONTWAIT,
                         reinterpret_cast<const sockaddr*>(&p.peer), p.peer_length);
                ++(p.cluster ? counters_.cluster_answered : counters_.vpn_answered);
                p.done = true;
            }
            // Otherwise a stray or oversized datagram: keep waiting for the real answer.
        }
    }

    void serve() {
        std::vector<Pending> pending;
        std::vector<pollfd> fds;
        while (true) {
            fds.assign({pollfd{stop_.get(), POLLIN, 0}, pollfd{udp_.get(), POLLIN, 0}});
            int timeout_ms = -1;
            const auto now = Clock::now();
            for (const auto& p : pending) {
                fds.push_back(pollfd{p.upstream.get(), POLLIN, 0});
                const auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(p.deadline - now).count();
                const int ms = static_cast<int>(std::max<long long>(0, left));
                timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
            }
            if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                spdlog::error("dns split: poll for {}: {}", target_.netns, net::errno_text(errno));
                return;
            }
            if (fds[0].revents != 0) {
                return;
            }
            try {
                for (std::size_t i = 0; i < pending.size(); ++i) {
                    if (fds[2 + i].revents != 0) {
                        read_upstream(pending[i]);
                    }
                }
                const auto after = Clock::now();
                for (auto& p : pending) {
                    if (!p.done && after >= p.deadline) {
                        send_next(p);
                    }
                }
                std::erase_if(pending, [](const Pending& p) { return p.done; });
                if (fds[1].revents != 0) {
                    accept_udp(pending);
                }
            } catch (const std::exception& e) {
                spdlog::warn("dns split: {} ({}): {}", target_.netns, target_.network, e.what());
            }
        }
    }

    // One query from the pod: dropped, or on its way upstream (answered from serve()).
    void accept_udp(std::vector<Pending>& pending) {
        Pending p;
        p.query.resize(kMaxDnsMessage + 1);
        p.peer_length = sizeof(p.peer);
        const auto n =
            ::recvfrom(udp_.get(), p.query.data(), p.query.size(), MSG_DONTWAIT | MSG_TRUNC,
                       reinterpret_cast<sockaddr*>(&p.peer), &p.peer_length);
        if (n < 0) {
            return;
        }
        const auto size = static_cast<std::size_t>(n);
        std::optional<DnsQuestion> question;
        if (size <= kMaxDnsMessage) {
            p.query.resize(size);
            question = parse_dns_query(p.query);
        }
        if (!question || pending.size() >= kMaxPending || !bucket_.take()) {
            ++counters_.dropped;
            return;
        }
        p.id = question->id;
        p.cluster = in_domain(*question, target_.cluster_domain);
        spdlog::debug("dns split: {} {} via {}", target_.netns, printable_name(*question),
                      p.cluster ? "the cluster DNS" : "the VPN");
        if (send_next(p)) {
            pending.push_back(std::move(p));
        }
    }

    // The pod's TCP connections, one after another on a thread of their own (TCP is the rare
    // fallback; each step has its deadline): one that waits for its client or its upstream holds
    // up the pod's other TCP connections, never its UDP queries.
    void serve_tcp_connections() {
        std::array<pollfd, 2> fds{};
        while (true) {
            fds = {pollfd{stop_.get(), POLLIN, 0}, pollfd{tcp_.get(), POLLIN, 0}};
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                spdlog::error("dns split: poll for {} (TCP): {}", target_.netns,
                              net::errno_text(errno));
                return;
            }
            if (fds[0].revents != 0) {
                return;
            }
            try {
                serve_tcp();
            } catch (const std::exception& e) {
                spdlog::warn("dns split: {} ({}), TCP: {}", target_.netns, target_.network,
                             e.what());
            }
        }
    }

    // A TCP query, answered in line on the pod's TCP thread.
    std::optional<Bytes> resolve_tcp(const Bytes& query) {
        const auto question = parse_dns_query(query);
        if (!question || !bucket_.take()) {
            ++counters_.dropped;
            return std::nullopt;
        }
        const bool cluster = in_domain(*question, target_.cluster_domain);
        // Cluster names: from the node's netns (this thread's), as the pod's query would have
        // gone. Every other name: from the pod's netns, so out through its egress policy.
        const Origin origin = cluster ? Origin{} : Origin{netns_.get(), target_.ifname};
        for (const auto& server : servers_for(cluster)) {
            std::optional<Bytes> reply;
            try {
                reply = ask_tcp(origin, server, query, question->id, options_.upstream_timeout);
            } catch (const cni::Error& e) {
                // E.g. net1 is gone (the kill switch holds): that query fails, at debug level
                // only, since a pod could otherwise fill the log at its query rate.
                spdlog::debug("dns split: {}: {}", target_.netns, e.what());
            } catch (const net::KernelError& e) {  // e.g. the pod's netns is gone
                spdlog::debug("dns split: {}: {}", target_.netns, e.what());
            }
            if (reply) {
                ++(cluster ? counters_.cluster_answered : counters_.vpn_answered);
                spdlog::debug("dns split: {} {} via {}", target_.netns, printable_name(*question),
                              cluster ? "the cluster DNS" : "the VPN");
                return reply;
            }
        }
        ++counters_.failed;
        return std::nullopt;
    }

    void serve_tcp() {
        util::UniqueFd client(
            ::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (client.get() < 0) {
            return;
        }
        // Blocking again, with deadlines: an idle or slow client ends its own connection.
        const int flags = ::fcntl(client.get(), F_GETFL);
        ::fcntl(client.get(), F_SETFL, flags & ~O_NONBLOCK);
        set_timeouts(client.get(), options_.upstream_timeout);
        for (unsigned i = 0; i < options_.max_tcp_queries; ++i) {
            // Each query must arrive whole within a timeout of its own.
            const auto query =
                read_framed(client.get(), Clock::now() + options_.upstream_timeout, kMaxDnsMessage);
            if (!query) {
                return;
            }
            const auto reply = resolve_tcp(*query);
            if (!reply || !write_framed(client.get(), *reply)) {
                return;
            }
        }
    }

    DnsTarget target_;
    const DnsSplitOptions& options_;
    std::vector<net::IpAddr> cluster_server_{options_.cluster_dns};
    DnsSplitCounters& counters_;
    util::UniqueFd netns_;
    util::UniqueFd stop_;
    util::UniqueFd udp_;
    util::UniqueFd tcp_;
    dns_split_detail::TokenBucket bucket_;
    // Last: joined (stop()) before the fds above close.
    std::jthread udp_thread_;  ///< UDP queries: serve()
    std::jthread tcp_thread_;  ///< TCP connections: serve_tcp_connections()
};

DnsSplit::DnsSplit(DnsSplitOptions options) : options_(options) {}

DnsSplit::~DnsSplit() {
    const std::lock_guard lock(mutex_);
    pods_.clear();
}

void DnsSplit::sync(const std::vector<DnsTarget>& targets) {
    const std::lock_guard lock(mutex_);
    std::map<store::StateKey, const DnsTarget*> wanted;
    for (const auto& t : targets) {
        // A netns path that is gone: the pod is gone, whatever the state still says.
        if (::access(t.netns.c_str(), F_OK) == 0) {
            wanted[t.key] = &t;
        }
    }
    for (auto it = pods_.begin(); it != pods_.end();) {
        const auto w = wanted.find(it->first);
        if (w == wanted.end() || !(*w->second == it->second->target())) {
            spdlog::info("dns split: stopped serving {} ({})", it->second->target().netns,
                         it->second->target().network);
            it = pods_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [key, target] : wanted) {
        if (pods_.contains(key)) {
            continue;
        }
        try {
            pods_[key] = std::make_unique<PodServer>(*target, options_, counters_);
            spdlog::info("dns split: serving {} on {}:53 ({})", target->netns,
                         net::to_string(options_.cluster_dns), target->network);
        } catch (const std::exception& e) {
            spdlog::warn("dns split: cannot serve {} yet: {}", target->netns, e.what());
        }
    }
}

std::size_t DnsSplit::pods_served() {
    const std::lock_guard lock(mutex_);
    return pods_.size();
}

}  // namespace splitnet::agent
