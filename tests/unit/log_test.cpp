// The log line prefix (verb, container ID, ifname) is data, never part of the spdlog pattern.
#include <algorithm>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "splitnet/log/logging.hpp"
#include "testutil/scratch_dir.hpp"

namespace splitnet::log {
namespace {

// Logs one line through a file sink with the given context and returns the file's content.
std::string logged_line(std::string_view container_id, std::string_view ifname) {
    const testutil::ScratchDir dir;
    const auto file = dir / "splitnet.log";
    configure({"info", file, /*to_stderr=*/false});
    set_context("ADD", container_id, ifname);
    spdlog::warn("hello {}", "%H");
    auto text = testutil::read_file(file);
    init_stderr();  // closes the file; later tests log to stderr again
    set_context("-", "", "");
    return text;
}

// "e%d" in the old pattern printed the day of the month, "%v" repeated the message.
TEST(Logging, ContextIsPrintedVerbatimNotInterpretedAsPattern) {
    const auto line = logged_line("%v%v", "e%d");
    EXPECT_NE(line.find(" warning splitnet ADD %v%v e%d: hello %H\n"), std::string::npos) << line;
    EXPECT_EQ(line.find("hello %H", line.find("hello %H") + 1), std::string::npos) << line;
}

TEST(Logging, ContextCannotStartANewLine) {
    const auto line = logged_line("c1", "x\ny\x1b");
    EXPECT_NE(line.find("splitnet ADD c1 x\\x0ay\\x1b: hello %H\n"), std::string::npos) << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
}

}  // namespace
}  // namespace splitnet::log
