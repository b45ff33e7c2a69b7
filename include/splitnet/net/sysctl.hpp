#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace splitnet::net {

/// Writes /proc/sys/<key> in the calling thread's netns (`key` like
/// "net/ipv4/conf/net1/arp_notify"; must start with "net/" and contain no ".." component).
/// /proc/sys/net follows the thread's netns after setns, /sys/class/net does not.
void write_sysctl(std::string_view key, std::string_view value);

/// Reads /proc/sys/<key> in the calling thread's netns, trailing newline removed.
std::string read_sysctl(std::string_view key);

/// Enters `netns_fd` once and writes every key in order.
void write_sysctls_in(int netns_fd, const std::vector<std::pair<std::string, std::string>>& kv);

std::string read_sysctl_in(int netns_fd, std::string_view key);

}  // namespace splitnet::net
