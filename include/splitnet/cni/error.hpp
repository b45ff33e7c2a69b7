#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace splitnet::cni {

/// CNI error codes. 0-99 are the well-known codes of SPEC.md "Error" (8 as in the Go
/// libraries); 100 and up are the plugin's own.
enum class ErrorCode : unsigned {
    Unknown = 0,
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    UnknownContainer = 3,
    InvalidEnvironment = 4,
    IoFailure = 5,
    DecodingFailure = 6,
    InvalidNetworkConfig = 7,
    InvalidNetns = 8,
    TryAgainLater = 11,
    NotAvailable = 50,
    LimitedConnectivity = 51,
    /// Any other failure, the plugin-specific code every reference plugin reports for an
    /// ordinary error (the Go skel wraps a plain error in 999, which libcni calls ErrInternal).
    Other = 999,
};

/// The one error type of the project: thrown where a problem is understood, printed once as a
/// CNI error object by the dispatcher.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& msg, std::string details = {})
        : std::runtime_error(msg),
          code_(static_cast<unsigned>(code)),
          details_(std::move(details)) {}

    /// A failure of a system call: `sys_errno` is the errno behind it, for decisions that
    /// depend on the cause (e.g. ENOENT: the thing is gone), never read from the message.
    Error(ErrorCode code, const std::string& msg, std::string details, int sys_errno)
        : std::runtime_error(msg),
          code_(static_cast<unsigned>(code)),
          details_(std::move(details)),
          sys_errno_(sys_errno) {}

    /// Delegates may report any code (100+ are plugin specific): keep it as is.
    Error(unsigned raw_code, const std::string& msg, std::string details, int sys_errno = 0)
        : std::runtime_error(msg),
          code_(raw_code),
          details_(std::move(details)),
          sys_errno_(sys_errno) {}

    [[nodiscard]] unsigned code() const noexcept { return code_; }

    [[nodiscard]] const std::string& details() const noexcept { return details_; }

    [[nodiscard]] std::string msg() const { return what(); }

    /// The errno that caused the failure, 0 when none is known.
    [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }

private:
    unsigned code_;
    std::string details_;
    int sys_errno_ = 0;
};

// The raisers: one call where a problem is found, with the code written at the call site.

/// Throws Error(code, msg).
[[noreturn]] inline void fail(ErrorCode code, const std::string& msg) {
    throw Error(code, msg);
}

/// Throws Error(InvalidNetworkConfig, msg): what the user wrote (a config, an annotation, a NAD, a
/// kubeconfig) is wrong, and `msg` says what to fix.
[[noreturn]] inline void fail_config(const std::string& msg) {
    fail(ErrorCode::InvalidNetworkConfig, msg);
}

/// Throws Error(InvalidNetworkConfig, "<key>: <what>") for one bad key of a config block.
[[noreturn]] inline void fail_key(std::string_view key, std::string_view what) {
    std::string msg(key);
    msg.append(": ").append(what);
    fail_config(msg);
}

/// Throws Error(InvalidNetworkConfig, "<command>: --<flag>: <why> (see `splitnet <command>
/// --help`)") for a bad flag of a subcommand.
[[noreturn]] inline void fail_flag(std::string_view command, std::string_view flag,
                                   std::string_view why) {
    std::string msg(command);
    msg.append(": --").append(flag).append(": ").append(why).append(" (see `splitnet ");
    msg.append(command).append(" --help`)");
    fail_config(msg);
}

}  // namespace splitnet::cni
