// Every entry point of untrusted or external JSON (and the kubeconfig's YAML) refuses hostile
// nesting and size with a clean cni::Error, and the dispatcher always prints one valid JSON
// document. Each of these crashed or aborted on main.
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"
#include "splitnet/config/conf_files.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/kubeconfig.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/verbs/dispatch.hpp"
#include "testutil/fake_io.hpp"

namespace splitnet::bounded_test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string deep_array(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

template <class F>
cni::Error error_of(F&& f) {
    try {
        f();
    } catch (const cni::Error& e) {
        return e;
    }
    ADD_FAILURE() << "no cni::Error";
    return {cni::ErrorCode::Unknown, ""};
}

bool mentions(const cni::Error& e, std::string_view text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

// ---- annotations ------------------------------------------------------------------------------

TEST(BoundedAnnotation, CniArgsNested120000LevelsIsACleanError) {
    // 240 KB: fits in Kubernetes' 256 KiB annotation limit.
    const auto value = R"([{"name":"net-a","cni-args":{"deep":)" + deep_array(120000) + "}}]";
    ASSERT_LT(value.size(), util::kMaxAnnotationBytes);
    const auto e = error_of([&] { k8s::parse_network_selection(value, "ns", false); });
    EXPECT_EQ(e.code(), 7U);
    EXPECT_TRUE(mentions(e,
                         "parsePodNetworkAnnotation: failed to parse pod Network Attachment "
                         "Selection Annotation JSON format: "))
        << e.what();
    EXPECT_TRUE(mentions(e, "deeper than the limit of 128 levels")) << e.what();
}

TEST(BoundedAnnotation, DeepButAllowedCniArgsAreKept) {
    // [ { "cni-args": { "deep": <123 levels> } } ] is 127 levels: under the limit.
    const auto value = R"([{"name":"net-a","cni-args":{"deep":)" + deep_array(123) + "}}]";
    const auto sels = k8s::parse_network_selection(value, "ns", false);
    ASSERT_EQ(sels.size(), 1U);
    EXPECT_TRUE(sels[0].cni_args["deep"].is_array());
}

TEST(BoundedAnnotation, ValueLargerThanKubernetesAllowsIsRefused) {
    const std::string value = "net-a," + std::string(util::kMaxAnnotationBytes, 'b');
    const auto e = error_of([&] { k8s::parse_network_selection(value, "ns", false); });
    EXPECT_EQ(e.code(), 7U);
    EXPECT_TRUE(mentions(e, "more than Kubernetes allows")) << e.what();
}

// ---- network configs (NAD spec.config, delegates, conf files) --------------------------------

TEST(BoundedConfig, NadConfigNested100000LevelsIsACleanError) {
    const auto config = R"({"cniVersion":"1.0.0","type":"macvlan","x":)" + deep_array(100000) + "}";
    const auto injected = error_of([&] { config::inject_network_name(config, "net-a"); });
    EXPECT_EQ(injected.code(), 7U);
    EXPECT_TRUE(mentions(injected, "failed to unmarshal Spec.Config: the document nests"))
        << injected.what();
    const auto checked = error_of([&] { config::check_delegate_config(config); });
    EXPECT_EQ(checked.code(), 7U);
}

class BoundedFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("splitnet-bounded-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }

    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& content) const {
        auto path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    fs::path dir_;
};

TEST_F(BoundedFiles, ConfFileNestedTooDeepIsACleanError) {
    const auto path =
        write("deep.conf", R"({"cniVersion":"1.0.0","type":"ptp","x":)" + deep_array(100000) + "}");
    const auto e = error_of([&] { config::config_from_path(path); });
    EXPECT_EQ(e.code(), 7U);
    EXPECT_TRUE(mentions(e, "deep.conf")) << e.what();
    EXPECT_TRUE(mentions(e, "deeper than the limit")) << e.what();
}

TEST_F(BoundedFiles, ConfFileLargerThanAConfigIsRefusedWhileReading) {
    const auto path = write("big.conf", R"({"cniVersion":"1.0.0","type":"ptp","pad":")" +
                                            std::string(util::kMaxConfigBytes, 'x') + "\"}");
    const auto e = error_of([&] { config::config_from_path(path); });
    EXPECT_EQ(e.code(), 7U);
    EXPECT_TRUE(mentions(e, "larger than 4194304 bytes")) << e.what();
}

// ---- state files and Go Multus caches ----------------------------------------------------------

TEST_F(BoundedFiles, StateWithTheDeepestAllowedCniArgsIsReadBack) {
    // A selection whose cni-args used the whole annotation depth: the state nests deeper than an
    // input may, and DEL must still read it (composed limit).
    const auto value = R"([{"name":"net-a","cni-args":{"deep":)" + deep_array(125) + "}}]";
    auto selection = k8s::parse_network_selection(value, "ns", false).at(0);
    store::State state;
    state.container_id = "ctr-deep";
    state.ifname = "eth0";
    state.cni_version = "1.0.0";
    store::AttachmentState attachment;
    attachment.attachment.network = "net-a";
    attachment.attachment.ifname = "net1";
    attachment.attachment.config = R"({"cniVersion":"1.0.0","name":"net-a","type":"macvlan"})";
    attachment.attachment.selection = selection;
    state.attachments.push_back(attachment);
    const store::StateStore store((dir_ / "state").string());
    store.save(state);
    const auto loaded = store.load({"ctr-deep", "eth0"});
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->attachments.at(0).attachment.selection->cni_args, selection.cni_args);
}

TEST_F(BoundedFiles, StateFileNestedTooDeepIsSetAsideNotACrash) {
    fs::create_directories(dir_ / "state");
    write("state/ctr-evil@eth0.json", R"({"kind":"splitnetState","x":)" + deep_array(200000) + "}");
    const store::StateStore store((dir_ / "state").string());
    EXPECT_FALSE(store.load({"ctr-evil", "eth0"}).has_value());
    EXPECT_TRUE(fs::exists(dir_ / "state" / "ctr-evil@eth0.corrupt"));
}

TEST(BoundedMultusCache, DeepCacheIsADecodingFailure) {
    const auto e = error_of([] { store::parse_multus_cache(deep_array(200000), "eth0", "1.0.0"); });
    EXPECT_EQ(e.code(), 6U);
}

// ---- kubeconfig (YAML) ------------------------------------------------------------------------

TEST(BoundedKubeconfig, DeepFlowNestingIsACleanError) {
    // yaml-cpp 0.7 guards its recursion itself (at 500 levels) but says "bad file".
    const auto yaml = "clusters: " + deep_array(100000);
    const auto e = error_of([&] { k8s::parse_kubeconfig(yaml, "/", "test kubeconfig"); });
    EXPECT_EQ(e.code(), 7U);
    EXPECT_TRUE(mentions(e, "test kubeconfig: invalid YAML: nested deeper than")) << e.what();
}

TEST(BoundedKubeconfig, LargerThanAConfigIsRefusedBeforeParsing) {
    const std::string yaml = "# " + std::string(util::kMaxConfigBytes, 'x') + "\nclusters: []\n";
    const auto e = error_of([&] { k8s::parse_kubeconfig(yaml, "/", "test kubeconfig"); });
    EXPECT_TRUE(mentions(e, "test kubeconfig: larger than 4194304 bytes")) << e.what();
}

// ---- the dispatcher: one valid JSON document, whatever happens --------------------------------

class ScriptedInvoker final : public delegate::PluginInvoker {
public:
    std::string invoke(const delegate::PluginCall& call) override {
        if (call.verb == cni::Verb::Add && fail_with) {
            fail_with();
        }
        return {};
    }

    std::function<void()> fail_with;
};

class BoundedDispatch : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("splitnet-bounded-run-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        env_ = {{"CNI_COMMAND", "ADD"},
                {"CNI_CONTAINERID", "ctr1"},
                {"CNI_NETNS", "/proc/self/ns/net"},
                {"CNI_NETNS_OVERRIDE", "1"},
                {"CNI_IFNAME", "tst0"},  // absent here: eth0 exists in the test host
                {"CNI_PATH", "/cni"}};
    }

    void TearDown() override { fs::remove_all(dir_); }

    std::string conf() const {
        return R"({"cniVersion":"1.0.0","name":"podnet","cniDir":")" + (dir_ / "state").string() +
               R"(","delegates":[{"name":"cluster","cniVersion":"1.0.0","type":"ptp"}]})";
    }

    int run(const std::string& stdin_text) {
        out_.clear();
        const auto io = testutil::fake_io(env_, stdin_text, out_);
        verbs::Adapters adapters{invoker_, invoker_,
                                 [] { return std::make_unique<verbs::InlineSource>(); }};
        return verbs::run(io, adapters);
    }

    // The one document on stdout; parse() throws on invalid UTF-8 as well.
    json output() const { return json::parse(out_); }

    fs::path dir_;
    std::map<std::string, std::string> env_;
    std::string out_;
    ScriptedInvoker invoker_;
};

TEST_F(BoundedDispatch, StdinNested200000LevelsIsErrorCode6) {
    const auto text = R"({"cniVersion":"1.0.0","name":"podnet","x":)" + deep_array(200000) + "}";
    EXPECT_EQ(run(text), 1);
    const auto doc = output();
    EXPECT_EQ(doc["code"], 6);
    EXPECT_NE(doc["msg"].get<std::string>().find("error unmarshall network config: "),
              std::string::npos);
}

TEST_F(BoundedDispatch, InvalidUtf8InTheEnvironmentGivesValidJson) {
    env_["CNI_CONTAINERID"] = "bad\xff\xfeid";
    EXPECT_EQ(run(conf()), 1);
    const auto doc = output();
    EXPECT_EQ(doc["code"], 4);
    EXPECT_NE(doc.dump().find("bad\xEF\xBF\xBD\xEF\xBF\xBDid"), std::string::npos) << out_;
}

TEST_F(BoundedDispatch, InvalidUtf8InADelegateErrorGivesValidJson) {
    invoker_.fail_with = [] {
        throw cni::Error(cni::ErrorCode::Other, "plugin said \xff", "stdout: \xe2\x82");
    };
    EXPECT_EQ(run(conf()), 1);
    const auto doc = output();
    EXPECT_EQ(doc["code"], 999);
    EXPECT_NE(doc["msg"].get<std::string>().find("plugin said \xEF\xBF\xBD"), std::string::npos);
    EXPECT_EQ(doc["details"], "stdout: \xEF\xBF\xBD");
}

TEST_F(BoundedDispatch, AnExceptionOfNoKnownTypeStillGivesOneJsonError) {
    invoker_.fail_with = [] { throw 42; };  // NOLINT(hicpp-exception-baseclass): the point here
    EXPECT_EQ(run(conf()), 1);
    EXPECT_EQ(out_, verbs::kLastResortError);
    EXPECT_EQ(output()["code"], 999);
}

}  // namespace
}  // namespace splitnet::bounded_test
