#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace splitnet::cni {

/// Well-known CNI error codes (SPEC.md "Error"; 8 and 999 as in the Go libraries).
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
    Internal = 999,
};

/// The one error type of the project: thrown where a problem is understood, printed once as a
/// CNI error object by the dispatcher.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& msg, std::string details = {})
        : std::runtime_error(msg),
          code_(static_cast<unsigned>(code)),
          details_(std::move(details)) {}

    /// Delegates may report any code (100+ are plugin specific): keep it as is.
    Error(unsigned raw_code, const std::string& msg, std::string details)
        : std::runtime_error(msg), code_(raw_code), details_(std::move(details)) {}

    [[nodiscard]] unsigned code() const noexcept { return code_; }

    [[nodiscard]] const std::string& details() const noexcept { return details_; }

    [[nodiscard]] std::string msg() const { return what(); }

private:
    unsigned code_;
    std::string details_;
};

}  // namespace splitnet::cni
