#pragma once

#include "splitnet/cni/error.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::cni {

/// The one boundary between the kernel layer and the CNI protocol: the CNI error a failure of
/// `net/` is reported as. Same message and errno; a bad namespace path is the runtime's
/// CNI_NETNS (code 4), every other kernel failure the plugins' ordinary 999.
[[nodiscard]] Error from_kernel(const net::KernelError& error);

}  // namespace splitnet::cni
