#include "splitnet/delegate/exec_invoker.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/unique_fd.hpp"
#include "testutil/scratch_dir.hpp"

namespace splitnet::delegate {
namespace {

using namespace std::chrono_literals;
using testutil::ScratchDir;
using Clock = std::chrono::steady_clock;

std::string plugins_dir() {
    return std::string(SPLITNET_TEST_DATA) + "/plugins";
}

// Sets an environment variable for one test; the plugins inherit it.
class ScopedEnv {
public:
    // The tests run on one thread and the plugins only read the environment after fork.
    ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
        ::setenv(name_.c_str(), value.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    }

    ~ScopedEnv() { ::unsetenv(name_.c_str()); }  // NOLINT(concurrency-mt-unsafe)

    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ScopedEnv(ScopedEnv&&) = delete;
    ScopedEnv& operator=(ScopedEnv&&) = delete;

private:
    std::string name_;
};

PluginCall call_for(const std::string& type, cni::Verb verb = cni::Verb::Add) {
    PluginCall call;
    call.verb = verb;
    call.type = type;
    call.config = R"({"cniVersion":"1.0.0","name":"n","type":")" + type + "\"}";
    call.container_id = "ctr-1";
    call.netns = "/run/netns/test";
    call.ifname = "net1";
    call.cni_args = "IgnoreUnknown=true";
    call.cni_path = {plugins_dir()};
    call.timeout = 20s;
    return call;
}

ExecOptions quiet() {
    ExecOptions options;
    options.forward_stderr_fd = -1;
    return options;
}

cni::Error invoke_error(ExecInvoker& invoker, const PluginCall& call) {
    try {
        invoker.invoke(call);
    } catch (const cni::Error& e) {
        return e;
    }
    ADD_FAILURE() << "plugin " << call.type << " did not fail";
    return {cni::ErrorCode::Unknown, "no error"};
}

pid_t read_pid(const std::string& path) {
    return static_cast<pid_t>(std::stol(testutil::read_file(path)));
}

// A process we cannot reap (a grandchild, reparented) counts as gone once it is a zombie.
bool gone_or_zombie(pid_t pid) {
    if (::kill(pid, 0) != 0) {
        return errno == ESRCH;
    }
    std::string stat;
    try {
        stat = testutil::read_file("/proc/" + std::to_string(pid) + "/stat");
    } catch (const std::exception&) {
        return true;
    }
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds bound) {
    const auto until = Clock::now() + bound;
    while (!condition()) {
        if (Clock::now() > until) {
            return false;
        }
        std::this_thread::sleep_for(10ms);  // polling a condition, bounded
    }
    return true;
}

TEST(ExecInvoker, AddReturnsThePluginResult) {
    ExecInvoker invoker(quiet());
    const auto out = invoker.invoke(call_for("fake-success"));
    const auto doc = nlohmann::json::parse(out);
    EXPECT_EQ(doc.at("interfaces").at(0).at("name"), "net1");
}

TEST(ExecInvoker, OtherVerbsReturnNothingOnSuccess) {
    ExecInvoker invoker(quiet());
    EXPECT_EQ(invoker.invoke(call_for("fake-success", cni::Verb::Del)), "");
    EXPECT_EQ(invoker.invoke(call_for("fake-success", cni::Verb::Check)), "");
    // Only ADD (and VERSION) read stdout: garbage after a successful DEL is no failure.
    EXPECT_EQ(invoker.invoke(call_for("fake-garbage", cni::Verb::Del)), "");
    EXPECT_EQ(invoker.invoke(call_for("fake-empty", cni::Verb::Status)), "");
}

TEST(ExecInvoker, ErrorObjectKeepsCodeMsgAndDetails) {
    ExecInvoker invoker(quiet());
    const auto e = invoke_error(invoker, call_for("fake-error"));
    EXPECT_EQ(e.code(), 11U);
    EXPECT_EQ(e.msg(), "try later");
    EXPECT_EQ(e.details(), "busy");

    const ScopedEnv code("FAKE_ERROR_CODE", "123");  // plugin-specific codes pass unchanged
    EXPECT_EQ(invoke_error(invoker, call_for("fake-error", cni::Verb::Del)).code(), 123U);
}

// A Go plugin reports an errno only as text. ENOENT's is recognised where the report is read,
// so that DEL decides on the errno, never on a message (verbs/run.cpp).
TEST(ExecInvoker, AnEnoentReportCarriesTheErrno) {
    ExecInvoker invoker(quiet());
    EXPECT_EQ(invoke_error(invoker, call_for("fake-error")).sys_errno(), 0);
    const ScopedEnv msg("FAKE_ERROR_MSG",
                        "failed to Statfs /proc/1/ns/net: no such file or directory");
    const auto e = invoke_error(invoker, call_for("fake-error", cni::Verb::Del));
    EXPECT_EQ(e.sys_errno(), ENOENT);
    EXPECT_EQ(e.msg(), "failed to Statfs /proc/1/ns/net: no such file or directory");
    EXPECT_EQ(e.code(), 11U);
}

TEST(ExecInvoker, FailureWithoutErrorObjectQuotesStderr) {
    ExecInvoker invoker(quiet());
    const auto e = invoke_error(invoker, call_for("fake-stderr"));
    EXPECT_EQ(e.code(), 999U);
    EXPECT_EQ(e.msg(),
              "plugin \"fake-stderr\" failed (exit 2): fake-stderr: master eth9 not found");
}

TEST(ExecInvoker, NonZeroExitIsFailureEvenWithAValidResult) {
    const ScopedEnv exit_code("FAKE_EXIT", "3");
    ExecInvoker invoker(quiet());
    const auto e = invoke_error(invoker, call_for("fake-success"));
    EXPECT_EQ(e.code(), 999U);
    EXPECT_EQ(e.msg(), "plugin \"fake-success\" failed (exit 3): no error message");
    EXPECT_NE(e.details().find("\"interfaces\""), std::string::npos) << e.details();
}

TEST(ExecInvoker, DeathBySignalIsFailure) {
    ExecInvoker invoker(quiet());
    const auto e = invoke_error(invoker, call_for("fake-signal"));
    EXPECT_EQ(e.code(), 999U);
    EXPECT_NE(e.msg().find("killed by signal 9"), std::string::npos) << e.msg();
}

TEST(ExecInvoker, AddWithEmptyOrGarbageStdoutIsDecodingFailure) {
    ExecInvoker invoker(quiet());
    const auto empty = invoke_error(invoker, call_for("fake-empty"));
    EXPECT_EQ(empty.code(), 6U);
    EXPECT_EQ(empty.msg(), "plugin \"fake-empty\" returned no result");
    const auto garbage = invoke_error(invoker, call_for("fake-garbage"));
    EXPECT_EQ(garbage.code(), 6U);
    EXPECT_NE(garbage.msg().find("plugin \"fake-garbage\" returned an invalid result"),
              std::string::npos)
        << garbage.msg();
    EXPECT_NE(garbage.details().find("this is not json"), std::string::npos);
}

TEST(ExecInvoker, PassesEnvironmentAndExactStdin) {
    const ScratchDir out;
    const ScopedEnv out_dir("FAKE_OUT_DIR", out.path());
    const ScopedEnv marker("SPLITNET_TEST_MARKER", "inherited-42");
    const ScopedEnv stale("CNI_IFNAME", "from-parent");
    const ScopedEnv stale_cmd("CNI_COMMAND", "VERSION");

    auto call = call_for("fake-record");
    call.cni_path = {"/nonexistent-a", plugins_dir(), "/nonexistent-b"};
    call.config = std::string("{\"name\":\"n\",\n \"x\":\"\xc3\xa9\\u0000\"}\0tail\n\n  ", 31);
    ExecInvoker invoker(quiet());
    EXPECT_EQ(invoker.invoke(call), R"({"cniVersion":"1.0.0"})");

    EXPECT_EQ(testutil::read_file(out / "stdin"), call.config);
    const auto env_blob = testutil::read_file(out / "env");
    std::vector<std::string> env;
    for (std::size_t start = 0; start < env_blob.size();) {
        const auto end = env_blob.find('\0', start);
        env.push_back(env_blob.substr(start, end - start));
        start = end == std::string::npos ? env_blob.size() : end + 1;
    }
    const auto count = [&](const std::string& entry) {
        return std::count(env.begin(), env.end(), entry);
    };
    const auto count_key = [&](const std::string& key) {
        return std::count_if(env.begin(), env.end(),
                             [&](const std::string& e) { return e.rfind(key + "=", 0) == 0; });
    };
    EXPECT_EQ(count("CNI_COMMAND=ADD"), 1);
    EXPECT_EQ(count("CNI_CONTAINERID=ctr-1"), 1);
    EXPECT_EQ(count("CNI_NETNS=/run/netns/test"), 1);
    EXPECT_EQ(count("CNI_IFNAME=net1"), 1);
    EXPECT_EQ(count("CNI_ARGS=IgnoreUnknown=true"), 1);
    EXPECT_EQ(count("CNI_PATH=/nonexistent-a:" + plugins_dir() + ":/nonexistent-b"), 1);
    EXPECT_EQ(count("SPLITNET_TEST_MARKER=inherited-42"), 1);
    for (const char* key : {"CNI_COMMAND", "CNI_IFNAME", "CNI_PATH", "PATH"}) {
        EXPECT_EQ(count_key(key), 1) << key;
    }
}

TEST(ExecInvoker, ForwardsStderrLive) {
    const ScratchDir dir;
    const util::UniqueFd sink(
        ::open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(sink.valid());
    ExecOptions options;
    options.forward_stderr_fd = sink.get();
    ExecInvoker invoker(options);
    EXPECT_EQ(invoke_error(invoker, call_for("fake-error")).code(), 11U);
    EXPECT_EQ(testutil::read_file(dir / "stderr"), "fake-error: about to fail\n");
}

TEST(ExecInvoker, PumpsLargeStdinStdoutAndStderrTogether) {
    auto call = call_for("fake-big");
    call.config = std::string(1 << 20, 'c');
    call.timeout = 30s;
    ExecInvoker invoker(quiet());
    const auto doc = nlohmann::json::parse(invoker.invoke(call));
    EXPECT_EQ(doc.at("pad").get<std::string>().size(), std::size_t{1} << 20U);
    EXPECT_EQ(doc.at("stdinBytes"), 1 << 20);
}

TEST(ExecInvoker, StdoutBeyondTheCapKillsThePlugin) {
    ExecOptions options = quiet();
    options.max_stdout = 4096;
    ExecInvoker invoker(options);
    auto call = call_for("fake-big");
    call.config = "{}";
    const auto e = invoke_error(invoker, call);
    EXPECT_EQ(e.code(), 999U);
    EXPECT_EQ(e.msg(), "plugin \"fake-big\" wrote more than 4096 bytes to stdout and was killed");
}

TEST(ExecInvoker, TimeoutKillsTheProcessGroupAndReaps) {
    const ScratchDir out;
    const ScopedEnv out_dir("FAKE_OUT_DIR", out.path());
    auto call = call_for("fake-hang");
    call.timeout = 300ms;
    ExecInvoker invoker(quiet());
    const auto started = Clock::now();
    const auto e = invoke_error(invoker, call);
    const auto took = Clock::now() - started;
    EXPECT_EQ(e.code(), 999U);
    EXPECT_EQ(e.msg(), "plugin \"fake-hang\" timed out after 300 ms and was killed");
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 5s);

    // The plugin was our child: reaped, so not even a zombie is left.
    const pid_t plugin = read_pid(out / "plugin.pid");
    EXPECT_EQ(::kill(plugin, 0), -1);
    EXPECT_EQ(errno, ESRCH);
    // Its own child was in the same process group and got the SIGKILL too.
    const pid_t grandchild = read_pid(out / "grandchild.pid");
    EXPECT_TRUE(eventually([&] { return gone_or_zombie(grandchild); }, 5s));
    ::kill(grandchild, SIGKILL);  // leave nothing behind even when the assertion failed
}

TEST(ExecInvoker, ReturnsWhenThePluginExitsEvenIfItsDaemonKeepsThePipes) {
    const ScratchDir out;
    const ScopedEnv out_dir("FAKE_OUT_DIR", out.path());
    ExecInvoker invoker(quiet());
    const auto started = Clock::now();
    EXPECT_EQ(invoker.invoke(call_for("fake-daemon")), "{\"cniVersion\":\"1.0.0\"}\n");
    EXPECT_LT(Clock::now() - started, 5s);
    const pid_t daemon = read_pid(out / "daemon.pid");
    EXPECT_NE(::kill(daemon, 0), -1) << "a plugin's daemon is not ours to kill on success";
    ::kill(daemon, SIGKILL);
}

TEST(ExecInvoker, MissingExecuteBitIsAClearError) {
    const ScratchDir dir;
    std::filesystem::copy_file(plugins_dir() + "/fake-success", dir / "noexec");
    std::filesystem::permissions(
        dir / "noexec", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto call = call_for("noexec");
    call.cni_path = {dir.path()};
    ExecInvoker invoker(quiet());
    const auto e = invoke_error(invoker, call);
    EXPECT_EQ(e.code(), 999U);
    EXPECT_EQ(e.msg(),
              "failed to execute plugin \"noexec\" (" + (dir / "noexec") + "): Permission denied");
}

// Holding the binary open for writing makes exec fail with ETXTBSY, as while it is replaced.
struct BusyPlugin {
    ScratchDir dir;
    util::UniqueFd writer;

    BusyPlugin() {
        std::filesystem::copy_file(plugins_dir() + "/fake-success", dir / "busy");
        writer.reset(::open((dir / "busy").c_str(), O_WRONLY | O_CLOEXEC));
    }

    [[nodiscard]] PluginCall call() const {
        auto c = call_for("busy");
        c.cni_path = {dir.path()};
        return c;
    }
};

TEST(ExecInvoker, TextFileBusyIsRetriedThenReported) {
    BusyPlugin busy;
    ASSERT_TRUE(busy.writer.valid());
    std::vector<std::chrono::milliseconds> waits;
    ExecOptions options = quiet();
    options.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
    ExecInvoker invoker(options);
    try {
        invoker.invoke(busy.call());
        ASSERT_TRUE(waits.empty()) << "retried, then succeeded while the writer was still open";
        GTEST_SKIP() << "this kernel does not report ETXTBSY on exec";
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), 11U);
        EXPECT_NE(e.msg().find("text file busy after 6 attempts"), std::string::npos) << e.msg();
    }
    const std::vector<std::chrono::milliseconds> expected = {50ms, 100ms, 200ms, 400ms, 800ms};
    EXPECT_EQ(waits, expected);
}

TEST(ExecInvoker, TextFileBusyRetrySucceedsOnceTheWriterIsGone) {
    BusyPlugin busy;
    ASSERT_TRUE(busy.writer.valid());
    int waits = 0;
    ExecOptions options = quiet();
    options.sleep = [&](std::chrono::milliseconds) {
        ++waits;
        busy.writer.reset();
    };
    ExecInvoker invoker(options);
    const auto out = invoker.invoke(busy.call());
    if (waits == 0) {
        GTEST_SKIP() << "this kernel does not report ETXTBSY on exec";
    }
    EXPECT_EQ(waits, 1);
    EXPECT_EQ(nlohmann::json::parse(out).at("interfaces").at(0).at("name"), "net1");
}

}  // namespace
}  // namespace splitnet::delegate
