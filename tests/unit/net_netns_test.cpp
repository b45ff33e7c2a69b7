// What CNI_NETNS may be: only a network namespace file; anything else is refused at once (code 4),
// without blocking and without opening it for I/O. No root needed: the process' own namespaces
// under /proc/self/ns are readable by everyone.
#include <fcntl.h>
#include <future>
#include <unistd.h>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/kernel_error.hpp"
#include "splitnet/net/netns.hpp"
#include "testutil/scratch_dir.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::net {
namespace {

// As the runtime sees it: the kernel layer's error, converted at the CNI boundary.
std::optional<cni::Error> as_cni(const std::optional<KernelError>& error) {
    if (!error) {
        return std::nullopt;
    }
    EXPECT_EQ(error->kind(), KernelError::Kind::BadNetnsPath) << error->what();
    return cni::from_kernel(*error);
}

std::optional<cni::Error> open_error(const std::string& path) {
    return as_cni(testutil::thrown<KernelError>([&] { open_netns(path); }));
}

TEST(OpenNetns, AcceptsANetworkNamespaceFile) {
    const auto fd = open_netns("/proc/self/ns/net");
    const auto own = open_current_netns();
    EXPECT_TRUE(same_netns(fd.get(), own.get()));
    EXPECT_TRUE(open_netns_if_exists("/proc/self/ns/net").has_value());
    EXPECT_FALSE(open_netns_if_exists("/nonexistent/splitnet-netns").has_value());
}

// An nsfs file of another kind (mount, pid, user ... namespace) used to pass the
// filesystem check and only fail later in setns().
TEST(OpenNetns, RefusesOtherKindsOfNamespace) {
    for (const std::string path : {"/proc/self/ns/mnt", "/proc/self/ns/uts", "/proc/self/ns/ipc"}) {
        const auto error = open_error(path);
        ASSERT_TRUE(error) << path;
        EXPECT_EQ(error->code(), 4U) << path;
        EXPECT_NE(error->msg().find("not a network namespace"), std::string::npos) << error->msg();
        EXPECT_NE(error->details().find("CNI_NETNS"), std::string::npos) << error->details();
    }
}

TEST(OpenNetns, RefusesFilesThatAreNotNamespaces) {
    const testutil::ScratchDir dir;
    const auto file = dir.write("regular", "x");
    for (const std::string& path : {file, dir.path(), std::string("/dev/null")}) {
        const auto error = open_error(path);
        ASSERT_TRUE(error) << path;
        EXPECT_EQ(error->code(), 4U) << path;
        EXPECT_NE(error->msg().find("unknown FS magic"), std::string::npos) << error->msg();
    }
    const auto missing = open_error(dir / "missing");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code(), 4U);
}

// Opening a FIFO for reading blocks until a writer comes; a FIFO as CNI_NETNS hung the
// plugin forever. The open happens in a task only so that a regression fails this test instead of
// hanging it: the generous bound is a safety net, the assertion is on the error.
TEST(OpenNetns, AFifoIsRefusedWithoutBlocking) {
    const testutil::ScratchDir dir;
    const auto fifo = dir / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (const bool missing_ok : {false, true}) {
        auto task = std::async(std::launch::async, [&] {
            return testutil::thrown<KernelError>([&] {
                if (missing_ok) {
                    open_netns_if_exists(fifo);
                } else {
                    open_netns(fifo);
                }
            });
        });
        if (task.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
            // Unblock the stuck open() so the test can end, then fail.
            const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
            task.wait();
            if (writer >= 0) {
                ::close(writer);
            }
            FAIL() << "opening a FIFO as a netns blocked";
        }
        const auto error = as_cni(task.get());
        ASSERT_TRUE(error);
        EXPECT_EQ(error->code(), 4U);
        EXPECT_NE(error->msg().find(fifo), std::string::npos) << error->msg();
    }
}

}  // namespace
}  // namespace splitnet::net
