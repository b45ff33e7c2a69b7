#include "splitnet/app/command_line.hpp"

#include <gtest/gtest.h>

namespace splitnet::app {
namespace {

TEST(CommandLine, NoArgumentIsThePlugin) {
    const auto line = parse_command_line({});
    EXPECT_EQ(line.subcommand, Subcommand::Plugin);
    EXPECT_TRUE(line.args.empty());
}

TEST(CommandLine, InstallKeepsItsFlagsForTheInstaller) {
    const auto line = parse_command_line({"install", "--once", "--bogus"});
    EXPECT_EQ(line.subcommand, Subcommand::Install);
    EXPECT_EQ(line.args, (std::vector<std::string>{"--once", "--bogus"}));
}

TEST(CommandLine, VerifyAndUninstallKeepTheirFlags) {
    auto line = parse_command_line({"verify", "--interface", "net2", "--help"});
    EXPECT_EQ(line.subcommand, Subcommand::Verify);
    EXPECT_EQ(line.args, (std::vector<std::string>{"--interface", "net2", "--help"}));
    line = parse_command_line({"uninstall", "--cni-bin-dir=/x"});
    EXPECT_EQ(line.subcommand, Subcommand::Uninstall);
    EXPECT_EQ(line.args, (std::vector<std::string>{"--cni-bin-dir=/x"}));
}

TEST(CommandLine, HelpAndVersionSpellings) {
    for (const char* spelling : {"help", "--help", "-h"}) {
        EXPECT_EQ(parse_command_line({spelling}).subcommand, Subcommand::Help) << spelling;
    }
    for (const char* spelling : {"version", "--version"}) {
        EXPECT_EQ(parse_command_line({spelling}).subcommand, Subcommand::Version) << spelling;
    }
}

TEST(CommandLine, UnknownSubcommandIsInvalidAndNamed) {
    // A misspelt subcommand in an init container must fail, not run the plugin (which passes).
    for (const char* word : {"verif", "Verify", "instal", "uninstal", "--once", "ADD", ""}) {
        const auto line = parse_command_line({word});
        EXPECT_EQ(line.subcommand, Subcommand::Invalid) << word;
        EXPECT_NE(line.problem.find(word), std::string::npos) << line.problem;
    }
}

TEST(CommandLine, HelpAndVersionTakeNoArguments) {
    const auto line = parse_command_line({"version", "--json"});
    EXPECT_EQ(line.subcommand, Subcommand::Invalid);
    EXPECT_NE(line.problem.find("--json"), std::string::npos);
}

TEST(CommandLine, UsageListsEverySubcommand) {
    const auto text = usage_text();
    for (const char* sub : {"install", "verify", "uninstall", "version", "help"}) {
        EXPECT_NE(text.find(sub), std::string::npos) << sub;
    }
}

}  // namespace
}  // namespace splitnet::app
