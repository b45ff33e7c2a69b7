// The one boundary between the kernel layer and the CNI protocol: what a runtime sees of a
// failure of net/.
#include <cerrno>

#include <gtest/gtest.h>

#include "splitnet/cni/kernel_error.hpp"

namespace splitnet::cni {
namespace {

TEST(FromKernel, AnOrdinaryFailureIsThePluginsCode999WithItsMessageAndErrno) {
    const net::KernelError kernel("add route 10.0.0.0/8 via 192.0.2.1: network is unreachable",
                                  ENETUNREACH, "libnl error 33 (Object not found), errno 101");
    const auto error = from_kernel(kernel);
    EXPECT_EQ(error.code(), 999U);
    EXPECT_EQ(error.msg(), "add route 10.0.0.0/8 via 192.0.2.1: network is unreachable");
    EXPECT_EQ(error.details(), "libnl error 33 (Object not found), errno 101");
    EXPECT_EQ(error.sys_errno(), ENETUNREACH);
}

TEST(FromKernel, ABadNetnsPathIsAnInvalidCniNetns) {
    const net::KernelError kernel(
        R"(failed to open netns "/run/netns/x": no such file or directory)", ENOENT, {},
        net::KernelError::Kind::BadNetnsPath);
    const auto error = from_kernel(kernel);
    EXPECT_EQ(error.code(), 4U);
    EXPECT_EQ(error.msg(), kernel.what());
    EXPECT_NE(error.details().find("CNI_NETNS"), std::string::npos) << error.details();
    EXPECT_EQ(error.sys_errno(), ENOENT);  // DEL takes a vanished netns as done
}

}  // namespace
}  // namespace splitnet::cni
