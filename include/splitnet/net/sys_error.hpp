#pragma once

#include <string>

namespace splitnet::net {

/// strerror text with a lower-case first letter, the way Go prints syscall.Errno ("file exists",
/// "network is unreachable"), so our messages read like the reference plugins'.
std::string errno_text(int err);

}  // namespace splitnet::net
