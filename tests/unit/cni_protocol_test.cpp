#include <map>

#include <gtest/gtest.h>

#include "splitnet/cni/args.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/cni/version.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::cni {
namespace {

Getenv env_of(std::map<std::string, std::string> values) {
    return [values = std::move(values)](std::string_view key) -> std::optional<std::string> {
        const auto it = values.find(std::string(key));
        if (it == values.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

unsigned code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

std::string msg_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

TEST(Version, ParsesAndCompares) {
    EXPECT_EQ(parse_version(""), (Version{0, 1, 0}));
    EXPECT_EQ(parse_version("1.1.0"), (Version{1, 1, 0}));
    EXPECT_TRUE(version_at_least("0.4.0", "0.3.1"));
    EXPECT_FALSE(version_at_least("0.3.1", "0.4.0"));
    EXPECT_TRUE(version_at_least("1.0.0", "1.0.0"));
    for (const char* bad : {"1", "1.0", "a.b.c", "1.0.0.0", "-1.0.0", "1..0"}) {
        EXPECT_EQ(code_of([&] { parse_version(bad); }), 6U) << bad;
    }
    for (const auto version : kSupportedVersions) {
        EXPECT_TRUE(is_supported_version(version));
    }
    EXPECT_FALSE(is_supported_version("9.9.9"));
}

TEST(CniArgs, MatchesLoadArgs) {
    const auto pairs = parse_cni_args("IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.2/24");
    ASSERT_EQ(pairs.size(), 3U);
    EXPECT_EQ(arg_value(pairs, "K8S_POD_NAME"), "web");
    EXPECT_EQ(arg_value(pairs, "MISSING"), "");
    EXPECT_TRUE(parse_cni_args("").empty());
    EXPECT_EQ(code_of([] { parse_cni_args("FOO=a=b"); }), 4U);
    EXPECT_EQ(msg_of([] { parse_cni_args("FOO=a=b"); }), "ARGS: invalid pair \"FOO=a=b\"");
    EXPECT_EQ(code_of([] { parse_cni_args("FOO"); }), 4U);
    EXPECT_EQ(join_cni_args(pairs), "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.2/24");
}

TEST(CniArgs, UnknownKeysNeedIgnoreUnknown) {
    EXPECT_EQ(msg_of([] { check_known_args(parse_cni_args("ip=1.2.3.4/8"), {"IP"}); }),
              "ARGS: unknown args [ip]");
    for (const char* flag : {"1", "true", "True"}) {
        const std::string text = std::string("FOO=1;IgnoreUnknown=") + flag;
        EXPECT_NO_THROW(check_known_args(parse_cni_args(text), {"IP"})) << flag;
    }
    EXPECT_EQ(code_of([] { check_known_args(parse_cni_args("FOO=1;IgnoreUnknown=yes"), {}); }), 4U);
}

TEST(RequestEnv, NoCommandMeansAbout) {
    EXPECT_FALSE(parse_request_env(env_of({})).has_value());
}

TEST(RequestEnv, UnknownCommand) {
    EXPECT_EQ(msg_of([] {
                  parse_request_env(env_of({{"CNI_COMMAND", "FOO"}}));
              }),
              "unknown CNI_COMMAND: FOO");
}

TEST(RequestEnv, MissingVariablesListedInSkelOrder) {
    EXPECT_EQ(msg_of([] {
                  parse_request_env(env_of({{"CNI_COMMAND", "ADD"}}));
              }),
              "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing");
    EXPECT_EQ(msg_of([] {
                  parse_request_env(env_of({{"CNI_COMMAND", "DEL"}}));
              }),
              "required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing");
    EXPECT_EQ(msg_of([] {
                  parse_request_env(env_of({{"CNI_COMMAND", "GC"}}));
              }),
              "required env variables [CNI_PATH] missing");
}

TEST(RequestEnv, DelWithoutNetnsAndStatusWithEmptyIdsAreAccepted) {
    const auto del = parse_request_env(env_of({{"CNI_COMMAND", "DEL"},
                                               {"CNI_CONTAINERID", "c1"},
                                               {"CNI_IFNAME", "eth0"},
                                               {"CNI_PATH", "/a:/b::"}}));
    ASSERT_TRUE(del);
    EXPECT_EQ(del->verb, Verb::Del);
    EXPECT_EQ(del->cni_path, (std::vector<std::string>{"/a", "/b"}));
    const auto status = parse_request_env(env_of({{"CNI_COMMAND", "STATUS"},
                                                  {"CNI_CONTAINERID", ""},
                                                  {"CNI_NETNS", ""},
                                                  {"CNI_IFNAME", ""},
                                                  {"CNI_PATH", "/opt/cni/bin"}}));
    ASSERT_TRUE(status);
    EXPECT_EQ(status->verb, Verb::Status);
}

TEST(RequestEnv, HostileContainerIdsAndIfnames) {
    const auto add = [](std::string id, std::string ifname) {
        return [id, ifname] {
            parse_request_env(env_of({{"CNI_COMMAND", "ADD"},
                                      {"CNI_CONTAINERID", id},
                                      {"CNI_NETNS", "/proc/self/ns/net"},
                                      {"CNI_IFNAME", ifname},
                                      {"CNI_PATH", "/bin"}}));
        };
    };
    EXPECT_EQ(msg_of(add("../../etc", "eth0")), "invalid characters in containerID");
    EXPECT_EQ(msg_of(add("-x", "eth0")), "invalid characters in containerID");
    EXPECT_EQ(msg_of(add("c1", "a-very-long-ifname")), "interface name is too long");
    EXPECT_EQ(msg_of(add("c1", "..")), "interface name is . or ..");
    EXPECT_EQ(msg_of(add("c1", "et/h0")),
              "interface name contains / or : or whitespace characters");
    EXPECT_EQ(msg_of(add("c1", "eth 0")),
              "interface name contains / or : or whitespace characters");
    EXPECT_EQ(code_of(add("c1", "et:h0")), 4U);
    EXPECT_EQ(code_of(add("abc_1.2-x", "net1")), 0U);
}

// "e%d" is a name template to the kernel (the link gets another name, a veth peer
// leaks), and names reach logs and JSON: '%', NUL and anything not printable ASCII are refused.
TEST(RequestEnv, IfnamesWithPercentOrNonPrintableBytesAreRefused) {
    const auto add = [](std::string ifname) {
        return [ifname] {
            parse_request_env(env_of({{"CNI_COMMAND", "ADD"},
                                      {"CNI_CONTAINERID", "c1"},
                                      {"CNI_NETNS", "/proc/self/ns/net"},
                                      {"CNI_IFNAME", ifname},
                                      {"CNI_PATH", "/bin"}}));
        };
    };
    const std::string expected =
        "interface name contains '%' or a character that is not printable ASCII";
    for (const std::string& bad :
         {std::string("e%d"), std::string("%s%n"), std::string("a\0b", 3), std::string("e\x7f"),
          std::string("\x1b[2J"), std::string("caf\xc3\xa9"), std::string("\xff")}) {
        EXPECT_EQ(msg_of(add(bad)), expected) << printable(bad);
        EXPECT_EQ(code_of(add(bad)), 4U) << printable(bad);
        EXPECT_EQ(interface_name_problem(bad), expected) << printable(bad);
    }
    // The details show the name, bytes escaped: a valid JSON string whatever came in.
    const auto error = testutil::thrown<Error>(add("e\xff%d"));
    ASSERT_TRUE(error);
    EXPECT_EQ(error->details(), "CNI_IFNAME=e\\xff%d");
    for (const std::string good : {"eth0", "net1", "vpn-5", "a.b_c", "123456789012345"}) {
        EXPECT_EQ(interface_name_problem(good), "") << good;
    }
}

}  // namespace
}  // namespace splitnet::cni
