#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "splitnet/net/nl_ptr.hpp"
#include "splitnet/net/sys_error.hpp"
#include "splitnet/util/unique_fd.hpp"

namespace splitnet::net {

/// A failed netlink operation. Keeps the libnl code (NLE_*) and, when the kernel sent one, the
/// raw errno, so callers can test for "no such device".
class NetlinkError : public KernelError {
public:
    NetlinkError(std::string operation, int nle, int sys_errno);

    /// Why it failed, without the operation: errno text when the kernel sent one ("network is
    /// unreachable"), else libnl's text.
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

    /// Positive libnl code (NLE_EXIST, NLE_NODEV, ...).
    [[nodiscard]] int nle() const noexcept { return nle_; }

    /// NLE_NODEV / NLE_OBJ_NOTFOUND (or ENODEV/ENOENT/ESRCH from the kernel).
    [[nodiscard]] bool is_not_found() const noexcept;

private:
    int nle_;
    std::string reason_;
};

/// A NETLINK_ROUTE socket bound to one network namespace. A rtnetlink socket acts in the netns
/// it was created in, whatever netns the thread is in later, so one socket per netns is opened
/// (inside a short NetnsGuard window) and all work goes through it.
class Netlink {
public:
    /// Socket in the calling thread's netns.
    Netlink();

    /// Socket in the netns `netns_fd` (the fd is duplicated and kept for sysctl work).
    explicit Netlink(int netns_fd);

    ~Netlink();
    Netlink(Netlink&& other) noexcept;
    Netlink& operator=(Netlink&& other) noexcept;
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;

    [[nodiscard]] nl_sock* sock() const noexcept { return sock_.get(); }

    /// The netns this socket works in (owned by this object).
    [[nodiscard]] int netns_fd() const noexcept { return netns_.get(); }

    /// Checks a libnl return code: returns it when >= 0, else throws NetlinkError naming
    /// `operation` (which should carry the arguments, e.g. `add route 10.0.0.0/8 via ...`).
    int check(int rc, std::string_view operation);

    /// Throws NetlinkError for a negative libnl code.
    [[noreturn]] void fail(int rc, std::string_view operation);

    /// Whether the negative libnl code `rc` of the last request means "no such object", as
    /// NetlinkError::is_not_found would say, without throwing. Lookups that expect a miss use
    /// it: the first C++ throw of a static binary costs ~4 ms of CPU (libgcc sorts every FDE of
    /// the binary on it; docs/benchmark.md).
    [[nodiscard]] bool is_not_found(int rc) const noexcept;

    /// Clears the errno recorded from the last NLMSG_ERROR (done before each request).
    void clear_errno() noexcept;

    /// Runs a dump request (`nl_rtgen_request(type, af)`, af AF_INET / AF_INET6 / AF_UNSPEC) and
    /// hands every parsed object to `on_object`. Retries up to 5 times when the kernel flags the
    /// dump as interrupted (NLM_F_DUMP_INTR), as Go's netlinksafe does; `reset` is called before
    /// each attempt.
    void dump(int msg_type, int af, const std::function<void()>& reset,
              const std::function<void(nl_object*)>& on_object, std::string_view operation);

private:
    NlSockPtr sock_;
    util::UniqueFd netns_;
    std::unique_ptr<int> last_errno_;  // heap: the error callback keeps its address
};

}  // namespace splitnet::net
