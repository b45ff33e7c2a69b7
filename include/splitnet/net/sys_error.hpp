#pragma once

#include <stdexcept>
#include <string>

namespace splitnet::net {

/// strerror text with a lower-case first letter, the way Go prints syscall.Errno ("file exists",
/// "network is unreachable"), so our messages read like the reference plugins'.
std::string errno_text(int err);

/// A failure of the kernel layer: a system call, a netlink request or a namespace switch. It
/// knows nothing of the CNI protocol; `cni::from_kernel` turns it into a CNI error where a verb
/// or the agent calls into `net/` (the one boundary).
class KernelError : public std::runtime_error {
public:
    /// What kind of thing failed, for callers that must answer differently.
    enum class Kind {
        Failure,      ///< any other failure of a syscall or netlink request
        BadNetnsPath  ///< a namespace path that is missing, unreadable or not a netns
    };

    explicit KernelError(const std::string& msg, int sys_errno = 0, std::string details = {},
                         Kind kind = Kind::Failure);

    /// The errno behind the failure, 0 when none is known.
    [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }

    /// Low-level detail for the log (e.g. the libnl code), empty when there is none.
    [[nodiscard]] const std::string& details() const noexcept { return details_; }

    [[nodiscard]] Kind kind() const noexcept { return kind_; }

private:
    int sys_errno_;
    std::string details_;
    Kind kind_;
};

}  // namespace splitnet::net
