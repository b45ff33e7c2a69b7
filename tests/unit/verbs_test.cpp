// Orchestration of ADD/DEL/CHECK/STATUS/GC against a fake plugin invoker (no root, no exec).
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include <gtest/gtest.h>

#include "splitnet/agent/outcome_log.hpp"
#include "splitnet/cni/error.hpp"
#include "splitnet/store/state.hpp"
#include "splitnet/verbs/dispatch.hpp"
#include "testutil/fake_io.hpp"

namespace splitnet::verbs {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Call {
    cni::Verb verb;
    std::string type;
    std::string ifname;
    json config;
    std::string cni_args;
    std::vector<std::string> cni_path;
};

class FakeInvoker final : public delegate::PluginInvoker {
public:
    std::string invoke(const delegate::PluginCall& call) override {
        calls.push_back({call.verb, call.type, call.ifname, json::parse(call.config), call.cni_args,
                         call.cni_path});
        if (const auto it = failures.find({call.verb, call.type}); it != failures.end()) {
            throw it->second;
        }
        if (call.verb != cni::Verb::Add) {
            return {};
        }
        const auto version = json::parse(call.config).value("cniVersion", std::string());
        json result = {
            {"cniVersion", version},
            {"interfaces", json::array({{{"name", call.ifname},
                                         {"mac", "02:00:00:00:00:0" + std::to_string(calls.size())},
                                         {"sandbox", call.netns}}})},
            {"ips", json::array({{{"interface", 0}, {"address", addresses.at(call.type)}}})}};
        return result.dump();
    }

    std::vector<Call> calls;
    std::map<std::pair<cni::Verb, std::string>, cni::Error> failures;
    std::map<std::string, std::string> addresses = {
        {"ptp", "10.42.0.5/24"}, {"macvlan", "192.168.99.99/24"}, {"tuning", "0.0.0.0/0"}};
};

class VerbsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("splitnet-verbs-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        env_ = {{"CNI_CONTAINERID", "ctr1"},
                {"CNI_NETNS", "/proc/self/ns/net"},
                {"CNI_NETNS_OVERRIDE", "1"},
                {"CNI_IFNAME", "tst0"},
                {"CNI_PATH", "/cni/a:/cni/b"}};
    }

    void TearDown() override { fs::remove_all(dir_); }

    std::string conf(const std::string& version = "1.0.0", const std::string& extra = "") const {
        return R"({"cniVersion":")" + version +
               R"(","name":"podnet","binDir":"/bin/dir","cniDir":")" + (dir_ / "state").string() +
               "\"" + extra + R"(,"delegates":[
              {"name":"cluster","cniVersion":"1.0.0","type":"ptp"},
              {"name":"vpn","cniVersion":"0.3.1","plugins":[{"type":"macvlan"},{"type":"tuning"}]}]})";
    }

    int run_verb(const std::string& verb, const std::string& stdin_text) {
        env_["CNI_COMMAND"] = verb;
        out_.clear();
        const auto io = testutil::fake_io(env_, stdin_text, out_);
        Adapters adapters{invoker_, invoker_,
                          [this] { return std::make_unique<RecordingSource>(*this); }};
        return run(io, adapters);
    }

    // The inline delegates, recording what ADD tells the source afterwards (where the Kubernetes
    // source writes network-status and posts Events).
    class RecordingSource final : public NetworkSource {
    public:
        explicit RecordingSource(VerbsTest& test) : test_(test) {}

        std::vector<plan::DelegateSpec> resolve_for_add(const config::MetaConf& conf,
                                                        const cni::Request& request) override {
            return inline_.resolve_for_add(conf, request);
        }

        std::vector<plan::DelegateSpec> resolve_fallback(const config::MetaConf& conf,
                                                         const cni::Request& request) override {
            return inline_.resolve_fallback(conf, request);
        }

        void after_add(const config::MetaConf& /*conf*/, const cni::Request& /*request*/,
                       const std::vector<store::AttachmentState>& attachments) override {
            test_.after_add_calls.push_back(attachments.size());
        }

        void add_failed(const config::MetaConf& /*conf*/, const cni::Request& /*request*/,
                        const cni::Error& error) noexcept override {
            // What was rolled back by then: the DELs made so far and whether state is left.
            test_.add_failed_calls.push_back(
                {error, test_.sequence(cni::Verb::Del).size(), test_.state_exists()});
        }

    private:
        VerbsTest& test_;
        InlineSource inline_;
    };

    struct FailureReport {
        cni::Error error;
        std::size_t dels_before;
        bool state_left;
    };

    std::vector<std::size_t> after_add_calls;
    std::vector<FailureReport> add_failed_calls;

    std::vector<std::string> sequence(cni::Verb verb) const {
        std::vector<std::string> out;
        for (const auto& call : invoker_.calls) {
            if (call.verb == verb) {
                out.push_back(call.type + "@" + call.ifname);
            }
        }
        return out;
    }

    bool state_exists() const { return load_state().has_value(); }

    std::optional<store::State> load_state(const std::string& ifname = "tst0") const {
        return store::StateStore((dir_ / "state").string()).load({"ctr1", ifname});
    }

    std::vector<std::string> state_files() const {
        std::vector<std::string> names;
        if (fs::exists(dir_ / "state")) {
            for (const auto& entry : fs::directory_iterator(dir_ / "state")) {
                // The node agent's outcome log is metrics, not state (outcome_log.hpp).
                if (entry.path().filename() != agent::kOutcomeLogName) {
                    names.push_back(entry.path().filename());
                }
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    void fail_on(cni::Verb verb, const std::string& type) {
        invoker_.failures.emplace(std::make_pair(verb, type),
                                  cni::Error(cni::ErrorCode::Other, type + " failed"));
    }

    fs::path dir_;
    std::map<std::string, std::string> env_;
    std::string out_;
    FakeInvoker invoker_;
};

TEST_F(VerbsTest, AddMergesEveryAttachmentInTheConfigVersion) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Add),
              (std::vector<std::string>{"ptp@tst0", "macvlan@net1", "tuning@net1"}));
    const auto result = json::parse(out_);
    EXPECT_EQ(result["cniVersion"], "1.0.0");
    ASSERT_EQ(result["interfaces"].size(), 2U);
    EXPECT_EQ(result["ips"][0]["address"], "10.42.0.5/24");
    EXPECT_EQ(result["ips"][1]["interface"], 1);
    EXPECT_FALSE(result["ips"][1].contains("version"));
    // binDir is searched first; the chained plugin got the previous result in the list version.
    EXPECT_EQ(invoker_.calls[0].cni_path,
              (std::vector<std::string>{"/bin/dir", "/cni/a", "/cni/b"}));
    EXPECT_EQ(invoker_.calls[2].config["prevResult"]["cniVersion"], "0.3.1");
    EXPECT_TRUE(state_exists());
}

// A network naming a meta-plugin (in any plugin of a list, or as an IPAM) is refused
// before anything is attached: no plugin runs, not even the primary, and no state is left.
TEST_F(VerbsTest, MetaPluginOrPathAsANetworksPluginIsRefusedBeforeAnyWork) {
    const std::string base = R"({"cniVersion":"1.0.0","name":"podnet","cniDir":")" +
                             (dir_ / "state").string() +
                             R"(","delegates":[{"name":"cluster","type":"ptp"},)";
    for (
        const std::string evil :
        {R"({"name":"evil","type":"splitnet","binDir":"/bin","delegates":[{"name":"x","type":"sh"}]})",
         R"({"name":"evil","plugins":[{"type":"macvlan"},{"type":"multus"}]})",
         R"({"name":"evil","type":"macvlan","ipam":{"type":"../../bin/sh"}})"}) {
        invoker_.calls.clear();
        EXPECT_EQ(run_verb("ADD", base + evil + "]}"), 1) << evil;
        const auto error = json::parse(out_);
        EXPECT_EQ(error["code"], 7) << out_;
        EXPECT_EQ(error["msg"].get<std::string>().rfind("network \"evil\": ", 0), 0U) << out_;
        EXPECT_TRUE(invoker_.calls.empty()) << evil;
        EXPECT_FALSE(state_exists());
    }
}

// A plugin splitnet runs carries the marker in its environment, and whatever it runs inherits it:
// splitnet started that way (e.g. as some plugin's IPAM) refuses to act as a meta-plugin.
TEST_F(VerbsTest, RefusesToRunNestedUnderItself) {
    env_["SPLITNET_NESTED"] = "1";
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 7) << out_;
    EXPECT_NE(error["details"].get<std::string>().find("SPLITNET_NESTED"), std::string::npos);
    EXPECT_TRUE(invoker_.calls.empty());
    EXPECT_FALSE(state_exists());
    EXPECT_EQ(run_verb("DEL", conf()), 1);
    EXPECT_TRUE(invoker_.calls.empty());
    EXPECT_EQ(run_verb("VERSION", conf()), 0);  // harmless: libcni may probe it
}

TEST_F(VerbsTest, ResultIsConvertedToEveryMetaVersion) {
    int n = 0;
    for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
        env_["CNI_CONTAINERID"] = "ctr-v" + std::to_string(++n);
        ASSERT_EQ(run_verb("ADD", conf(version)), 0) << out_;
        const auto result = json::parse(out_);
        EXPECT_EQ(result["cniVersion"], version);
        EXPECT_EQ(result["ips"][0].contains("version"), version < "1.0.0") << version;
    }
}

TEST_F(VerbsTest, FailedSecondaryRollsBackInReverseAndKeepsTheCode) {
    invoker_.failures.emplace(std::make_pair(cni::Verb::Add, std::string("tuning")),
                              cni::Error(11U, "try later", "busy"));
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 11);
    EXPECT_EQ(error["details"], "busy");
    EXPECT_NE(error["msg"].get<std::string>().find("\"vpn\" (net1)"), std::string::npos);
    // The failed network and then the primary, each plugin in reverse.
    EXPECT_EQ(sequence(cni::Verb::Del),
              (std::vector<std::string>{"tuning@net1", "macvlan@net1", "ptp@tst0"}));
    EXPECT_FALSE(state_exists());
    // The same ADD then succeeds.
    invoker_.failures.clear();
    EXPECT_EQ(run_verb("ADD", conf()), 0) << out_;
}

TEST_F(VerbsTest, FailedAddIsReportedToTheSourceOnceAfterItsRollback) {
    invoker_.failures.emplace(std::make_pair(cni::Verb::Add, std::string("tuning")),
                              cni::Error(11U, "try later", "busy"));
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    ASSERT_EQ(add_failed_calls.size(), 1U);
    const auto& report = add_failed_calls.front();
    // The error the runtime gets (same code, message naming the network, details).
    EXPECT_EQ(report.error.code(), 11U);
    EXPECT_EQ(report.error.msg(), json::parse(out_)["msg"]);
    EXPECT_EQ(report.error.details(), "busy");
    // Reported after the rollback: all three DELs made, no state left.
    EXPECT_EQ(report.dels_before, 3U);
    EXPECT_FALSE(report.state_left);
    EXPECT_TRUE(after_add_calls.empty());
}

TEST_F(VerbsTest, FailureBeforeAnyAttachmentIsReportedToo) {
    // A second ADD of a finished attachment is refused before anything is done.
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    ASSERT_EQ(add_failed_calls.size(), 1U);
    EXPECT_EQ(add_failed_calls.front().error.code(), 7U);
}

TEST_F(VerbsTest, SuccessfulAddIsReportedOnceAndNeverAsAFailure) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(after_add_calls, (std::vector<std::size_t>{2}));
    EXPECT_TRUE(add_failed_calls.empty());
    // DEL reports nothing.
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(add_failed_calls.empty());
    EXPECT_EQ(after_add_calls.size(), 1U);
}

TEST_F(VerbsTest, DelReplaysTheStoredPlanInReverseAndIsIdempotent) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(out_.empty());
    EXPECT_EQ(sequence(cni::Verb::Del),
              (std::vector<std::string>{"tuning@net1", "macvlan@net1", "ptp@tst0"}));
    // prevResult is the attachment's own result (0.3.1 list: libcni passes none below 0.4.0).
    EXPECT_TRUE(invoker_.calls.back().config.contains("prevResult"));
    EXPECT_FALSE(invoker_.calls.front().config.contains("prevResult"));
    EXPECT_FALSE(state_exists());
    // Without state the config is replayed: the primary still gets its DEL.
    invoker_.calls.clear();
    env_.erase("CNI_NETNS");
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del).back(), "ptp@tst0");
}

TEST_F(VerbsTest, DelAggregatesErrorsButDeletesEverything) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    invoker_.calls.clear();
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("macvlan")),
                              cni::Error(cni::ErrorCode::Other, "boom"));
    EXPECT_EQ(run_verb("DEL", conf()), 1);
    EXPECT_EQ(sequence(cni::Verb::Del).size(), 3U);
    EXPECT_FALSE(state_exists());
}

// retryDeleteOnError keeps what a failed DEL could not remove for the next DEL, unless the
// failure's errno is ENOENT (something is gone): a runtime never retries such a DEL. Decided on
// the errno the error carries, whatever its message says.
TEST_F(VerbsTest, RetryDeleteOnErrorKeepsTheStateUnlessTheFailureIsEnoent) {
    const auto retrying = conf("1.0.0", R"(,"retryDeleteOnError":true)");
    ASSERT_EQ(run_verb("ADD", retrying), 0) << out_;
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("macvlan")),
                              cni::Error(cni::ErrorCode::Other, "boom"));
    EXPECT_EQ(run_verb("DEL", retrying), 1);
    auto state = load_state();
    ASSERT_TRUE(state) << "a failed DEL dropped the state despite retryDeleteOnError";
    ASSERT_EQ(state->attachments.size(), 1U);
    EXPECT_EQ(state->attachments[0].attachment.ifname, "net1");

    // The retry fails again, now because the pod's netns is gone: nothing left to retry.
    invoker_.failures.clear();
    invoker_.failures.emplace(
        std::make_pair(cni::Verb::Del, std::string("macvlan")),
        cni::Error(cni::ErrorCode::Other, "failed to open netns", {}, ENOENT));
    invoker_.calls.clear();
    EXPECT_EQ(run_verb("DEL", retrying), 1);
    EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"tuning@net1", "macvlan@net1"}));
    EXPECT_FALSE(state_exists());
    EXPECT_EQ(json::parse(out_)["code"], 999) << out_;
}

TEST_F(VerbsTest, DelWithoutStateOnlyFailsForThePrimary) {
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("macvlan")),
                              cni::Error(cni::ErrorCode::Other, "Link not found"));
    EXPECT_EQ(run_verb("DEL", conf()), 0) << out_;  // never added: only a guess
    EXPECT_EQ(sequence(cni::Verb::Del).back(), "ptp@tst0");
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("ptp")),
                              cni::Error(11U, "busy", ""));
    EXPECT_EQ(run_verb("DEL", conf()), 1);
    EXPECT_EQ(json::parse(out_)["code"], 11);
}

TEST_F(VerbsTest, CheckTakesMacsFromTheRuntimesPrevResult) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    auto merged = json::parse(out_);
    merged["interfaces"][0]["mac"] = "02:aa:bb:cc:dd:ee";  // a chained tuning changed it
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("CHECK", conf("1.0.0", R"(,"prevResult":)" + merged.dump())), 0) << out_;
    EXPECT_EQ(invoker_.calls[0].config["prevResult"]["interfaces"][0]["mac"], "02:aa:bb:cc:dd:ee");
}

TEST_F(VerbsTest, CheckUsesEachAttachmentsOwnResult) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    const auto merged = out_;
    invoker_.calls.clear();
    const auto with_prev = conf("1.0.0", R"(,"prevResult":)" + merged);
    ASSERT_EQ(run_verb("CHECK", with_prev), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Check), (std::vector<std::string>{"ptp@tst0"}));  // 0.3.1: none
    EXPECT_EQ(invoker_.calls[0].config["prevResult"]["ips"].size(), 1U);
    EXPECT_EQ(run_verb("CHECK", conf()), 1);  // no prevResult
    EXPECT_EQ(run_verb("CHECK", conf("0.3.1")), 1);
    EXPECT_EQ(json::parse(out_)["code"], 1);
}

TEST_F(VerbsTest, ErrorsAreOneJsonDocument) {
    EXPECT_EQ(run_verb("ADD", "{not json"), 1);
    EXPECT_EQ(json::parse(out_)["code"], 6);
    EXPECT_EQ(run_verb("ADD", R"({"cniVersion":"1.0.0"})"), 1);
    EXPECT_EQ(json::parse(out_)["msg"], "missing network name");
    EXPECT_EQ(run_verb("ADD", R"({"cniVersion":"9.0.0","name":"x"})"), 1);
    EXPECT_EQ(json::parse(out_)["code"], 1);
    EXPECT_EQ(run_verb("STATUS", conf("1.0.0")), 1);
    EXPECT_EQ(json::parse(out_)["code"], 1);
    env_.erase("CNI_NETNS_OVERRIDE");
    EXPECT_EQ(run_verb("ADD", conf()), 1);  // our own netns
    EXPECT_EQ(json::parse(out_)["code"], 8);
    EXPECT_TRUE(invoker_.calls.empty());
}

TEST_F(VerbsTest, VersionAndAbout) {
    EXPECT_EQ(run_verb("VERSION", ""), 0);
    const auto doc = json::parse(out_);
    EXPECT_EQ(doc["cniVersion"], "1.1.0");
    EXPECT_EQ(doc["supportedVersions"].size(), 7U);
    env_.erase("CNI_COMMAND");
}

TEST_F(VerbsTest, StatusNeedsTheReadinessFileAndThePrimary) {
    const auto ready = (dir_ / "ready").string();
    const auto with_ready = R"(,"readinessindicatorfile":")" + ready + "\"";
    env_["CNI_CONTAINERID"] = "";
    EXPECT_EQ(run_verb("STATUS", conf("1.1.0", with_ready)), 1);
    EXPECT_EQ(json::parse(out_)["code"], 50);
    std::ofstream(ready).put('x');
    EXPECT_EQ(run_verb("STATUS", conf("1.1.0", with_ready)), 0) << out_;
}

TEST_F(VerbsTest, AddWaitsBoundedForTheReadinessFileDelNever) {
    const auto ready = (dir_ / "ready").string();
    const auto with_ready =
        R"(,"readinessindicatorfile":")" + ready + R"(","readinessTimeout":0.2)";
    EXPECT_EQ(run_verb("ADD", conf("1.0.0", with_ready)), 1);
    EXPECT_EQ(json::parse(out_)["code"], 11);
    EXPECT_NE(json::parse(out_)["msg"].get<std::string>().find("readinessindicatorfile"),
              std::string::npos);
    EXPECT_TRUE(invoker_.calls.empty());
    EXPECT_EQ(run_verb("DEL", conf("1.0.0", with_ready)), 0) << out_;
    std::ofstream(ready).put('x');
    EXPECT_EQ(run_verb("ADD", conf("1.0.0", with_ready)), 0) << out_;
}

TEST_F(VerbsTest, GcDeletesStateTheRuntimeNoLongerLists) {
    ASSERT_EQ(run_verb("ADD", conf("1.1.0")), 0) << out_;
    invoker_.calls.clear();
    const auto gc =
        conf("1.1.0", R"(,"cni.dev/valid-attachments":[{"containerID":"other","ifname":"eth0"}])");
    ASSERT_EQ(run_verb("GC", gc), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del).size(), 3U);
    EXPECT_FALSE(state_exists());
    // Without a list nothing is pruned.
    ASSERT_EQ(run_verb("ADD", conf("1.1.0")), 0);
    ASSERT_EQ(run_verb("GC", conf("1.1.0")), 0);
    EXPECT_TRUE(state_exists());
}

TEST_F(VerbsTest, PrimaryResultModeReturnsOnlyThePrimary) {
    ASSERT_EQ(run_verb("ADD", conf("1.0.0", R"(,"resultMode":"primary")")), 0);
    EXPECT_EQ(json::parse(out_)["interfaces"].size(), 1U);
}

TEST_F(VerbsTest, StateIsKeyedPerRuntimeIfname) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    // A second attachment of the same container (another CNI_IFNAME) fails and rolls back: the
    // first one's state must survive it.
    env_["CNI_IFNAME"] = "tst1";
    fail_on(cni::Verb::Add, "ptp");
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    EXPECT_TRUE(state_exists());
    EXPECT_FALSE(load_state("tst1"));
    EXPECT_EQ(state_files(), (std::vector<std::string>{"ctr1@tst0.json", "ctr1@tst0.lock"}));
    // Each DEL replays its own plan.
    invoker_.failures.clear();
    invoker_.calls.clear();
    env_["CNI_IFNAME"] = "tst0";
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del).back(), "ptp@tst0");
}

TEST_F(VerbsTest, AFinishedAddIsMarkedAndCarriesATag) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    const auto state = load_state();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->phase, store::Phase::Added);
    EXPECT_EQ(state->add_tag.size(), 32U);
    // A second ADD of a finished attachment is refused (CNI: DEL it first), and leaves it be.
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    EXPECT_EQ(json::parse(out_)["code"], 7);
    EXPECT_TRUE(state_exists());
}

TEST_F(VerbsTest, FailedRollbackKeepsWhatIsLeftForTheNextDel) {
    fail_on(cni::Verb::Add, "tuning");
    fail_on(cni::Verb::Del, "macvlan");  // the rollback cannot remove net1
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    auto state = load_state();
    ASSERT_TRUE(state) << "the state of what the rollback could not remove was dropped";
    ASSERT_EQ(state->attachments.size(), 1U);
    EXPECT_EQ(state->attachments[0].attachment.ifname, "net1");
    EXPECT_EQ(state->phase, store::Phase::Adding);

    // The runtime's DEL retries it; the retried ADD then succeeds.
    invoker_.failures.clear();
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"tuning@net1", "macvlan@net1"}));
    EXPECT_TRUE(state_files().empty());
    EXPECT_EQ(run_verb("ADD", conf()), 0) << out_;
}

TEST_F(VerbsTest, RetriedAddWithoutDelFirstRemovesTheLeftovers) {
    fail_on(cni::Verb::Add, "tuning");
    fail_on(cni::Verb::Del, "macvlan");
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    invoker_.failures.clear();
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"tuning@net1", "macvlan@net1"}));
    EXPECT_EQ(load_state()->attachments.size(), 2U);
}

TEST_F(VerbsTest, EveryAddDelAndCheckLeavesOneOutcomeLineForTheAgent) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(run_verb("ADD", conf()), 1);  // refused: already added (code 7)
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    std::ifstream log(dir_ / "state" / agent::kOutcomeLogName);
    std::vector<agent::Outcome> lines;
    for (std::string line; std::getline(log, line);) {
        const auto outcome = agent::parse_outcome_line(line);
        ASSERT_TRUE(outcome) << line;
        lines.push_back(*outcome);
    }
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_EQ(lines[0].verb, "ADD");
    EXPECT_TRUE(lines[0].success);
    EXPECT_EQ(lines[1].verb, "ADD");
    EXPECT_FALSE(lines[1].success);
    EXPECT_EQ(lines[1].code, 7);
    EXPECT_EQ(lines[2].verb, "DEL");
    EXPECT_TRUE(lines[2].success);
}

TEST_F(VerbsTest, DelLeavesNoFileBehind) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(state_files().empty()) << state_files().front();
    // A corrupt state file is set aside, and removed by the DEL that succeeds without it.
    fs::create_directories(dir_ / "state");
    std::ofstream(dir_ / "state/ctr1@tst0.json") << "{";
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(state_files().empty()) << state_files().front();
}

TEST_F(VerbsTest, DelOnAnUnusableCniDirStillCallsEveryDelegate) {
    std::ofstream(dir_ / "state").put('x');  // cniDir cannot be created, locked nor written
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del),
              (std::vector<std::string>{"tuning@net1", "macvlan@net1", "ptp@tst0"}));
}

TEST_F(VerbsTest, GcKeepsWhatItCouldNotDelete) {
    ASSERT_EQ(run_verb("ADD", conf("1.1.0")), 0) << out_;
    const auto gc =
        conf("1.1.0", R"(,"cni.dev/valid-attachments":[{"containerID":"other","ifname":"eth0"}])");
    fail_on(cni::Verb::Del, "macvlan");
    EXPECT_EQ(run_verb("GC", gc), 1);
    auto state = load_state();
    ASSERT_TRUE(state) << "GC dropped the state of what it could not delete";
    ASSERT_EQ(state->attachments.size(), 1U);
    EXPECT_EQ(state->attachments[0].attachment.ifname, "net1");
    invoker_.failures.clear();
    ASSERT_EQ(run_verb("GC", gc), 0) << out_;
    EXPECT_TRUE(state_files().empty());
}

TEST_F(VerbsTest, GcKeepsOtherIfnamesOfAListedContainer) {
    ASSERT_EQ(run_verb("ADD", conf("1.1.0")), 0) << out_;
    const auto gc =
        conf("1.1.0", R"(,"cni.dev/valid-attachments":[{"containerID":"ctr1","ifname":"eth9"}])");
    ASSERT_EQ(run_verb("GC", gc), 0) << out_;
    EXPECT_FALSE(state_exists());  // ctr1/tst0 is not listed, only ctr1/eth9
}

}  // namespace
}  // namespace splitnet::verbs
