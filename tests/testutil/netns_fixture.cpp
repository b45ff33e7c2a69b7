#include "testutil/netns_fixture.hpp"

#include <array>
#include <cstdio>
#include <memory>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

#include <netlink/route/link/veth.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "splitnet/net/address.hpp"
#include "splitnet/net/link.hpp"
#include "splitnet/net/netlink.hpp"
#include "splitnet/net/netns.hpp"
#include "splitnet/net/nl_ptr.hpp"
#include "splitnet/net/route.hpp"

namespace splitnet::testutil {

namespace {

struct PcloseDeleter {
    void operator()(FILE* f) const noexcept {
        if (f != nullptr) {
            ::pclose(f);
        }
    }
};

std::pair<int, std::string> capture(const std::string& command) {
    std::unique_ptr<FILE, PcloseDeleter> pipe(::popen(command.c_str(), "r"));
    if (!pipe) {
        return {-1, ""};
    }
    std::string out;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0) {
        out.append(buf.data(), n);
    }
    const int status = ::pclose(pipe.release());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

void create_veth(net::Netlink& nl, std::string_view name, std::string_view peer,
                 int peer_netns_fd) {
    const net::LinkPtr link(rtnl_link_veth_alloc());
    if (!link) {
        throw std::runtime_error("rtnl_link_veth_alloc failed");
    }
    const std::string n(name);
    const std::string p(peer);
    rtnl_link_set_name(link.get(), n.c_str());
    // libnl 3.7's rtnl_link_veth_get_peer takes a reference (checked in the Debian build).
    const net::LinkPtr peer_link(rtnl_link_veth_get_peer(link.get()));
    rtnl_link_set_name(peer_link.get(), p.c_str());
    if (peer_netns_fd >= 0) {
        rtnl_link_set_ns_fd(peer_link.get(), peer_netns_fd);
    }
    nl.clear_errno();
    nl.check(rtnl_link_add(nl.sock(), link.get(), NLM_F_CREATE | NLM_F_EXCL),
             fmt::format(R"(create veth "{}" peer "{}")", n, p));
}

util::UniqueFd make_detached_netns(int back_fd) {
    if (::unshare(CLONE_NEWNET) != 0) {
        return {};
    }
    auto fd = net::open_current_netns();
    if (::setns(back_fd, CLONE_NEWNET) != 0) {
        std::abort();
    }
    return fd;
}

void NetnsFixture::SetUp() {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root (CAP_NET_ADMIN)";
    }
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET)";
    node_ = net::open_current_netns();
    pod_ = make_detached_netns(node_.get());
    ASSERT_TRUE(pod_.valid());
    pod_path_ = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(pod_.get());

    node_nl_.emplace();
    pod_nl_.emplace(pod_.get());
    auto& nl = *node_nl_;
    auto lo = net::get_link(nl, "lo");
    net::set_link_up(nl, lo.index);
    create_veth(nl, kMaster, kMasterPeer);
    net::set_link_up(nl, net::get_link(nl, kMaster).index);
    net::set_link_up(nl, net::get_link(nl, kMasterPeer).index);
    build_topology();
}

void NetnsFixture::TearDown() {
    // The namespaces die with their last reference (this process, its fds and the sockets).
    pod_nl_.reset();
    node_nl_.reset();
    pod_.reset();
}

int NetnsFixture::create_pod_macvlan(const std::string& name, LinkState state) {
    net::MacvlanSpec spec;
    spec.name = name;
    spec.master_index = net::get_link(node_nl(), kMaster).index;
    net::create_macvlan(node_nl(), spec, pod_fd());
    const int index = net::get_link(pod_nl(), name).index;
    if (state == LinkState::Up) {
        net::set_link_up(pod_nl(), index);
    }
    return index;
}

std::string NetnsFixture::make_extra_netns(util::UniqueFd& holder) {
    holder = make_detached_netns(node_.get());
    return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(holder.get());
}

void NetnsFixture::add_node_default_route() {
    auto& nl = node_nl();
    const int master = net::get_link(nl, kMaster).index;
    net::add_address(nl, master, *net::parse_cidr("192.0.2.1/24"));
    net::RouteSpec route;
    route.dst = net::default_prefix(net::Family::V4);
    route.gw = net::parse_ip("192.0.2.254");
    route.ifindex = master;
    net::add_route(nl, route);
}

std::string NetnsFixture::run_in(const std::string& netns_path, const std::string& command) {
    auto [rc, out] = capture("nsenter --net=" + netns_path + " sh -c '" + command + "'");
    EXPECT_EQ(rc, 0) << "command failed in " << netns_path << ": " << command;
    return out;
}

std::string NetnsFixture::run(const std::string& command) {
    auto [rc, out] = capture(command);
    EXPECT_EQ(rc, 0) << "command failed: " << command;
    return out;
}

}  // namespace splitnet::testutil
