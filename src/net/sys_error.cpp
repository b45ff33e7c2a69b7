#include "splitnet/net/sys_error.hpp"

#include <cctype>
#include <cstring>
#include <utility>

namespace splitnet::net {

std::string errno_text(int err) {
    // strerrordesc_np is the thread-safe, locale-independent glibc form of strerror.
    const char* desc = ::strerrordesc_np(err);
    std::string text = desc != nullptr ? desc : "errno " + std::to_string(err);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

KernelError::KernelError(const std::string& msg, int sys_errno, std::string details, Kind kind)
    : std::runtime_error(msg), sys_errno_(sys_errno), details_(std::move(details)), kind_(kind) {}

}  // namespace splitnet::net
