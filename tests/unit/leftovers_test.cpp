// Kill-safety helpers: the ADD tag in a process environment, stopping what carries it, and the
// kill-point test hook's parsing.
#include "splitnet/delegate/leftovers.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <spawn.h>
#include <string>
#include <thread>
#include <unistd.h>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "testutil/scratch_dir.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace splitnet::delegate {
namespace {

using namespace std::string_literals;

TEST(Leftovers, TagMatchesOnlyTheWholeEntry) {
    const auto block = "A=1\0SPLITNET_ADD_TAG=abc\0B=2"s;
    EXPECT_TRUE(environment_has_tag(block, "abc"));
    EXPECT_FALSE(environment_has_tag(block, "ab"));
    EXPECT_FALSE(environment_has_tag(block, "abcd"));
    EXPECT_FALSE(environment_has_tag(block, ""));
    EXPECT_TRUE(environment_has_tag("SPLITNET_ADD_TAG=abc"s, "abc"));
    EXPECT_FALSE(environment_has_tag("XSPLITNET_ADD_TAG=abc\0"s, "abc"));
    EXPECT_FALSE(environment_has_tag(""s, "abc"));
}

TEST(Leftovers, TagsAreFreshAndLong) {
    const auto a = new_add_tag();
    EXPECT_EQ(a.size(), 32U);
    EXPECT_NE(a, new_add_tag());
}

// A process and the child it started, both carrying the tag: both are killed, and only they.
TEST(Leftovers, StopsEveryProcessCarryingTheTagAndWaitsForThem) {
    const testutil::ScratchDir dir;
    const std::string marker = dir / "grandchild";
    const std::string tag = new_add_tag();
    const std::string tag_entry = "SPLITNET_ADD_TAG=" + tag;
    const std::string script = "sleep 1000 & echo $! > " + marker + ".tmp && mv " + marker +
                               ".tmp " + marker + " && exec sleep 1000";
    std::vector<std::string> argv_s = {"/bin/sh", "-c", script};
    std::vector<char*> argv;
    argv.reserve(argv_s.size() + 1);
    for (auto& s : argv_s) {
        argv.push_back(s.data());
    }
    argv.push_back(nullptr);
    std::string path_entry = "PATH=/usr/bin:/bin";
    std::string tag_copy = tag_entry;
    std::vector<char*> envp = {path_entry.data(), tag_copy.data(), nullptr};
    pid_t child = -1;
    ASSERT_EQ(::posix_spawn(&child, "/bin/sh", nullptr, nullptr, argv.data(), envp.data()), 0);
    // An untagged bystander must survive.
    pid_t bystander = -1;
    std::vector<std::string> by_s = {"/bin/sh", "-c", "exec sleep 1000"};
    std::vector<char*> by_argv = {by_s[0].data(), by_s[1].data(), by_s[2].data(), nullptr};
    ASSERT_EQ(
        ::posix_spawn(&bystander, "/bin/sh", nullptr, nullptr, by_argv.data(), envp.data() + 2), 0);

    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(marker) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // bounded condition poll
    }
    ASSERT_TRUE(std::filesystem::exists(marker));

    EXPECT_EQ(stop_tagged_processes(tag, std::chrono::seconds(10)), 2U);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_EQ(::waitpid(bystander, &status, WNOHANG), 0) << "an untagged process was killed";
    EXPECT_EQ(stop_tagged_processes(tag, std::chrono::seconds(10)), 0U);
    ::kill(bystander, SIGKILL);
    ::waitpid(bystander, &status, 0);
}

}  // namespace
}  // namespace splitnet::delegate
