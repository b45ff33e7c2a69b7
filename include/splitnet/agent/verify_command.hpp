#pragma once

#include <string>
#include <vector>

#include "splitnet/agent/verify.hpp"
#include "splitnet/net/netlink.hpp"

namespace splitnet::agent {

/// Reads what verify needs from the netns of `nl`: the VPN interface (a by-name lookup) and the
/// routes of every table (a dump). Neither needs a capability.
NetnsSnapshot take_snapshot(net::Netlink& nl, const VerifyOptions& options);

/// `splitnet verify ARGS...`: checks the calling process's netns. Prints one line per problem
/// on stderr and exits 1, or prints "splitnet verify: ok ..." on stdout and exits 0; exits 2 for
/// a usage error, 1 when the netns cannot be read.
int run_verify(const std::vector<std::string>& args);

}  // namespace splitnet::agent
