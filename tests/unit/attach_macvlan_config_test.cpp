#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/cni/error.hpp"

namespace splitnet::attach {
namespace {

using nlohmann::json;

std::string conf(const json& extra) {
    json doc = {{"cniVersion", "1.0.0"}, {"name", "net"}, {"type", "macvlan"}, {"master", "eth0"}};
    if (extra.is_object()) {
        doc.update(extra);
    }
    return doc.dump();
}

TEST(MacvlanConfig, ModesAndDefaults) {
    struct Case {
        json mode;
        net::MacvlanMode want;
    };

    for (const auto& c : std::vector<Case>{{nullptr, net::MacvlanMode::Bridge},
                                           {"", net::MacvlanMode::Bridge},
                                           {"bridge", net::MacvlanMode::Bridge},
                                           {"private", net::MacvlanMode::Private},
                                           {"vepa", net::MacvlanMode::Vepa},
                                           {"passthru", net::MacvlanMode::Passthru}}) {
        const auto parsed = parse_macvlan_config(conf({{"mode", c.mode}}), "");
        EXPECT_EQ(parsed.mode, c.want) << c.mode.dump();
    }
    const auto parsed = parse_macvlan_config(conf({}), "");
    EXPECT_EQ(parsed.master, "eth0");
    EXPECT_EQ(parsed.mtu, 0);
    EXPECT_FALSE(parsed.mac);
    EXPECT_FALSE(parsed.is_layer3());
    EXPECT_FALSE(parsed.link_in_container);
    for (const char* bad : {"source", "Bridge", "foo"}) {
        try {
            parse_macvlan_config(conf({{"mode", bad}}), "");
            ADD_FAILURE() << bad;
        } catch (const cni::Error& e) {
            EXPECT_EQ(std::string(e.what()), std::string("unknown macvlan mode: \"") + bad + "\"");
        }
    }
}

TEST(MacvlanConfig, MacPrecedence) {
    struct Case {
        const char* name;
        json extra;
        const char* cni_args;
        const char* want;  // nullptr: no MAC
    };

    const std::vector<Case> cases = {
        {"none", json::object(), "", nullptr},
        {"config", {{"mac", "02:00:00:00:00:01"}}, "", "02:00:00:00:00:01"},
        {"CNI_ARGS over config",
         {{"mac", "02:00:00:00:00:01"}},
         "MAC=02:00:00:00:00:02",
         "02:00:00:00:00:02"},
        {"runtimeConfig over CNI_ARGS",
         {{"mac", "02:00:00:00:00:01"}, {"runtimeConfig", {{"mac", "02:00:00:00:00:03"}}}},
         "MAC=02:00:00:00:00:02",
         "02:00:00:00:00:03"},
        {"empty CNI_ARGS MAC ignored", {{"mac", "02:00:00:00:00:01"}}, "MAC=", "02:00:00:00:00:01"},
        {"upper case normalised", {{"mac", "02:AA:BB:CC:DD:EE"}}, "", "02:aa:bb:cc:dd:ee"},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_macvlan_config(conf(c.extra), c.cni_args);
        if (c.want == nullptr) {
            EXPECT_FALSE(parsed.mac) << c.name;
        } else {
            ASSERT_TRUE(parsed.mac) << c.name;
            EXPECT_EQ(net::to_string(*parsed.mac), c.want) << c.name;
        }
    }
}

TEST(MacvlanConfig, Errors) {
    struct Case {
        const char* name;
        json extra;
        const char* cni_args;
        const char* prefix;
    };

    const std::vector<Case> cases = {
        {"bad mac",
         {{"mac", "zz"}},
         "",
         "invalid args zz for MAC addr: address zz: invalid MAC address"},
        {"multicast mac",
         {{"mac", "01:00:5e:00:00:01"}},
         "",
         "invalid args 01:00:5e:00:00:01 for MAC addr: not a unicast"},
        {"zero mac",
         {{"runtimeConfig", {{"mac", "00:00:00:00:00:00"}}}},
         "",
         "invalid args 00:00:00:00:00:00"},
        {"mtu type",
         {{"mtu", "1500"}},
         "",
         "failed to load netconf: field \"mtu\" must be an integer"},
        {"unknown CNI_ARGS", json::object(), "IP=10.0.0.1/24", "ARGS: unknown args"},
        {"bad pair", json::object(), "MAC", "ARGS: invalid pair"},
        {"master type", {{"master", 5}}, "", "failed to load netconf: field \"master\""},
    };
    for (const auto& c : cases) {
        try {
            parse_macvlan_config(conf(c.extra), c.cni_args);
            ADD_FAILURE() << c.name;
        } catch (const cni::Error& e) {
            EXPECT_EQ(std::string(e.what()).rfind(c.prefix, 0), 0U) << c.name << ": " << e.what();
        }
    }
    EXPECT_THROW(parse_macvlan_config("{not json", ""), cni::Error);
    // IgnoreUnknown lets the K8S_POD_* keys and static's IP through.
    EXPECT_NO_THROW(
        parse_macvlan_config(conf(json::object()),
                             "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;IP=10.0.0.1/24"));
}

TEST(MacvlanConfig, MtuBounds) {
    EXPECT_NO_THROW(check_mtu(0, 1500));
    EXPECT_NO_THROW(check_mtu(1500, 1500));
    try {
        check_mtu(9000, 1500);
        ADD_FAILURE();
    } catch (const cni::Error& e) {
        EXPECT_STREQ(e.what(), "invalid MTU 9000, must be [0, master MTU(1500)]");
    }
    EXPECT_THROW(check_mtu(-1, 1500), cni::Error);
}

TEST(MacvlanConfig, LayerAndDns) {
    const auto l3 = parse_macvlan_config(conf({{"ipam", {{"type", "static"}}},
                                               {"dns", {{"nameservers", {"9.9.9.9"}}}},
                                               {"linkInContainer", true},
                                               {"prevResult", {{"cniVersion", "1.0.0"}}}}),
                                         "");
    EXPECT_TRUE(l3.is_layer3());
    EXPECT_EQ(l3.ipam_type, "static");
    EXPECT_EQ(l3.dns.nameservers, std::vector<std::string>{"9.9.9.9"});
    EXPECT_TRUE(l3.link_in_container);
    EXPECT_TRUE(l3.prev_result);
    // An ipam object without type is L2, as in Go (isLayer3 := ipam.type != "").
    EXPECT_FALSE(parse_macvlan_config(conf({{"ipam", json::object()}}), "").is_layer3());
}

TEST(MacvlanConfig, DelParsingIgnoresEverythingElse) {
    const auto parsed = parse_macvlan_config_for_del(
        conf({{"mode", "nonsense"}, {"mac", "zz"}, {"ipam", {{"type", "host-local"}}}}));
    EXPECT_EQ(parsed.ipam_type, "host-local");
}

TEST(NativeInvoker, OnlyMacvlanIsNative) {
    EXPECT_TRUE(is_native_type("macvlan"));
    for (const char* other : {"static", "bridge", "ipvlan", "Macvlan", ""}) {
        EXPECT_FALSE(is_native_type(other)) << other;
    }
}

class RecordingInvoker final : public delegate::PluginInvoker {
public:
    std::string invoke(const delegate::PluginCall& call) override {
        calls.push_back(call);
        return R"({"cniVersion":"1.0.0"})";
    }

    std::vector<delegate::PluginCall> calls;
};

TEST(NativeInvoker, ForwardsOtherTypesAndGatesVersions) {
    RecordingInvoker exec;
    NativeInvoker native(exec);
    delegate::PluginCall call;
    call.verb = cni::Verb::Add;
    call.type = "bridge";
    call.config = conf({{"type", "bridge"}});
    EXPECT_EQ(native.invoke(call), R"({"cniVersion":"1.0.0"})");
    ASSERT_EQ(exec.calls.size(), 1U);
    EXPECT_EQ(exec.calls[0].type, "bridge");
    EXPECT_EQ(exec.calls[0].config, call.config);

    call.type = "macvlan";
    call.verb = cni::Verb::Version;
    const auto version = json::parse(native.invoke(call));
    EXPECT_EQ(version["cniVersion"], "1.1.0");
    EXPECT_NE(std::find(version["supportedVersions"].begin(), version["supportedVersions"].end(),
                        "0.3.1"),
              version["supportedVersions"].end());

    struct Gate {
        cni::Verb verb;
        const char* version;
        const char* message;
    };

    for (const auto& g :
         std::vector<Gate>{{cni::Verb::Check, "0.3.1", "config version does not allow CHECK"},
                           {cni::Verb::Status, "1.0.0", "config version does not allow STATUS"},
                           {cni::Verb::Gc, "1.0.0", "config version does not allow GC"},
                           {cni::Verb::Add, "9.9.9", "incompatible CNI versions"}}) {
        call.verb = g.verb;
        call.config = conf({{"cniVersion", g.version}});
        try {
            native.invoke(call);
            ADD_FAILURE() << g.message;
        } catch (const cni::Error& e) {
            EXPECT_EQ(e.code(), 1U);
            EXPECT_STREQ(e.what(), g.message);
        }
    }
    // GC at 1.1.0: nothing to collect, nothing exec'd.
    call.verb = cni::Verb::Gc;
    call.config = conf({{"cniVersion", "1.1.0"}});
    EXPECT_EQ(native.invoke(call), "");
    EXPECT_EQ(exec.calls.size(), 1U);
}

}  // namespace
}  // namespace splitnet::attach
