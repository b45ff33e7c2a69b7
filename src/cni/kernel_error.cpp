#include "splitnet/cni/kernel_error.hpp"

namespace splitnet::cni {

Error from_kernel(const net::KernelError& error) {
    switch (error.kind()) {
        case net::KernelError::Kind::BadNetnsPath:
            return {ErrorCode::InvalidEnvironment, error.what(),
                    "CNI_NETNS must be a network namespace file, e.g. /var/run/netns/<name> or "
                    "/proc/<pid>/ns/net",
                    error.sys_errno()};
        case net::KernelError::Kind::Failure:
            break;
    }
    return {ErrorCode::Other, error.what(), error.details(), error.sys_errno()};
}

}  // namespace splitnet::cni
