#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "splitnet/util/unique_fd.hpp"

namespace splitnet::net {

/// Opens a network namespace path (e.g. /var/run/netns/x or /proc/<pid>/ns/net) without ever
/// blocking or opening anything else for I/O: O_PATH, fstatfs must report nsfs, then a reopen
/// (O_RDONLY|O_CLOEXEC|O_NONBLOCK|O_NOCTTY) whose NS_GET_NSTYPE must be CLONE_NEWNET. Throws
/// KernelError(BadNetnsPath) `failed to open netns "<path>": ...` otherwise.
util::UniqueFd open_netns(std::string_view path);

/// As open_netns, but nullopt when the path does not exist (DEL treats that as done).
std::optional<util::UniqueFd> open_netns_if_exists(std::string_view path);

/// The calling thread's netns (/proc/thread-self/ns/net, never /proc/self: that is the
/// thread-group leader's).
util::UniqueFd open_current_netns();

/// True when both fds refer to the same network namespace (same st_dev and st_ino).
bool same_netns(int fd_a, int fd_b);

/// Enters a netns for the lifetime of the guard; the thread returns to its previous netns in
/// the destructor. If returning fails the process aborts: carrying on in the wrong netns
/// would change the node's network.
class NetnsGuard {
public:
    explicit NetnsGuard(int target_fd);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;
    NetnsGuard(NetnsGuard&&) = delete;
    NetnsGuard& operator=(NetnsGuard&&) = delete;

private:
    util::UniqueFd saved_;
};

/// Runs `fn` inside the netns `fd` and returns its result.
template <class Fn>
auto in_netns(int fd, Fn&& fn) {
    NetnsGuard guard(fd);
    return fn();
}

}  // namespace splitnet::net
