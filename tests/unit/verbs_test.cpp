// Orchestration of ADD/DEL/CHECK/STATUS/GC against a fake plugin invoker (no root, no exec).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
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
        {
            // With overlap, ADD and DEL call their delegates from several threads at once.
            const std::lock_guard lock(mutex_);
            calls.push_back({call.verb, call.type, call.ifname, json::parse(call.config),
                             call.cni_args, call.cni_path});
        }
        if (const auto it = rendezvous.find({call.verb, call.type});
            it != rendezvous.end() && !meet(it->second)) {
            throw cni::Error(cni::ErrorCode::Other, call.type + ": the calls did not run together");
        }
        if (const auto it = failures.find({call.verb, call.type}); it != failures.end()) {
            throw it->second;
        }
        if (call.verb != cni::Verb::Add) {
            return {};
        }
        const auto config = json::parse(call.config);
        // The native plugin's side of a split ADD (egress::EgressStep): "beforePolicy" makes the
        // link, "policy" applies the egress policy and answers with prevResult.
        const auto context = config.find("splitnetContext");
        const auto step =
            context != config.end() ? context->value("egressStep", std::string()) : std::string();
        if (call.type == "macvlan" && step != "beforePolicy" && policy_failure) {
            throw cni::Error(*policy_failure);
        }
        if (step == "policy") {
            if (on_policy) {
                on_policy();
            }
            return config.at("prevResult").dump();
        }
        const auto version = config.value("cniVersion", std::string());
        json result = {
            {"cniVersion", version},
            {"interfaces",
             json::array({{{"name", call.ifname},
                           {"mac", "02:00:00:00:00:0" + std::to_string(call.type.size())},
                           {"sandbox", call.netns}}})},
            {"ips", json::array({{{"interface", 0}, {"address", addresses.at(call.type)}}})}};
        return result.dump();
    }

    std::vector<Call> calls;
    std::map<std::pair<cni::Verb, std::string>, cni::Error> failures;
    /// The calls listed here wait (bounded) until as many calls of the group named by the value
    /// are in at once, and fail otherwise: they pass only when they run side by side.
    std::map<std::pair<cni::Verb, std::string>, std::string> rendezvous;
    std::map<std::string, std::size_t> group_sizes;
    /// Thrown by a macvlan ADD that applies the egress policy (whole, or the "policy" step).
    std::optional<cni::Error> policy_failure;
    /// Called as the "policy" step runs.
    std::function<void()> on_policy;
    std::map<std::string, std::string> addresses = {
        {"ptp", "10.42.0.5/24"}, {"macvlan", "192.168.99.99/24"}, {"tuning", "0.0.0.0/0"}};

    /// A caller other than a plugin call (the source) arrives at `group`, as a listed call does.
    bool arrive(const std::string& group) { return meet(group); }

private:
    bool meet(const std::string& group) {
        std::unique_lock lock(mutex_);
        ++arrived_[group];
        met_.notify_all();
        return met_.wait_for(lock, std::chrono::seconds(30),
                             [&] { return arrived_[group] >= group_sizes.at(group); });
    }

    std::mutex mutex_;
    std::condition_variable met_;
    std::map<std::string, std::size_t> arrived_;
};

// Every test runs with "overlap" on and off (the parameter).
class VerbsTest : public ::testing::TestWithParam<bool> {
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
               R"(","overlap":)" + (overlap_.value_or(overlap()) ? "true" : "false") + extra +
               R"(,"delegates":[
              {"name":"cluster","cniVersion":"1.0.0","type":"ptp"},
              {"name":"vpn","cniVersion":"0.3.1","plugins":[{"type":"macvlan"},{"type":"tuning"}]}]})";
    }

    // The primary and net1 with an egress block, whose plugin is given the primary's result.
    std::string egress_conf(const std::string& extra = "") const {
        return R"({"cniVersion":"1.0.0","name":"podnet","cniDir":")" + (dir_ / "state").string() +
               R"(","overlap":)" + (overlap_.value_or(overlap()) ? "true" : "false") + extra +
               R"(,"delegates":[
          {"name":"cluster","cniVersion":"1.0.0","type":"ptp"},
          {"name":"vpn","cniVersion":"1.0.0","type":"macvlan","egress":{"keep":["cluster"]}}]})";
    }

    // The ADD calls to a plugin of `type`, in the order they came.
    std::vector<Call> calls_of(const std::string& type) const {
        std::vector<Call> out;
        for (const auto& call : invoker_.calls) {
            if (call.verb == cni::Verb::Add && call.type == type) {
                out.push_back(call);
            }
        }
        return out;
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
            auto specs = inline_.resolve_for_add(conf, request);
            if (test_.on_resolve) {
                test_.on_resolve(specs);
            }
            return specs;
        }

        // As the Kubernetes source, whose resolve_for_add reads the API, when the test says so.
        std::optional<plan::DelegateSpec> primary_before_resolve(
            const config::MetaConf& conf, const cni::Request& request) override {
            if (!test_.primary_before_resolve) {
                return std::nullopt;
            }
            return inline_.resolve_for_add(conf, request).front();
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
    /// The source names the config's primary before resolving (as the Kubernetes source does).
    bool primary_before_resolve = false;
    /// Called by the source's resolve_for_add with what it resolved: may change it, or throw.
    std::function<void(std::vector<plan::DelegateSpec>&)> on_resolve;

    std::vector<std::string> sequence(cni::Verb verb) const {
        std::vector<std::string> out;
        for (const auto& call : invoker_.calls) {
            if (call.verb == verb) {
                out.push_back(call.type + "@" + call.ifname);
            }
        }
        return out;
    }

    static bool overlap() { return GetParam(); }

    void expect_dels(const std::vector<std::string>& expected) const {
        expect_calls(cni::Verb::Del, expected);
    }

    // The calls of `verb` are `expected` (plan order, reverse for DEL) one after another; with
    // overlap the attachments interleave, and only each one's own order (its list) is fixed.
    void expect_calls(cni::Verb verb, const std::vector<std::string>& expected) const {
        const auto calls = sequence(verb);
        if (!overlap()) {
            EXPECT_EQ(calls, expected);
            return;
        }
        const auto by_ifname = [](const std::vector<std::string>& list) {
            std::map<std::string, std::vector<std::string>> out;
            for (const auto& call : list) {
                out[call.substr(call.find('@') + 1)].push_back(call);
            }
            return out;
        };
        EXPECT_EQ(by_ifname(calls), by_ifname(expected));
    }

    // The first call to a plugin of `type`.
    const Call& call_of(const std::string& type) const {
        const auto it = std::find_if(invoker_.calls.begin(), invoker_.calls.end(),
                                     [&](const Call& call) { return call.type == type; });
        if (it == invoker_.calls.end()) {
            throw std::runtime_error("no call of " + type);
        }
        return *it;
    }

    bool del_called(const std::string& call) const {
        const auto calls = sequence(cni::Verb::Del);
        return std::find(calls.begin(), calls.end(), call) != calls.end();
    }

    // With overlap, the ADDs of ptp and macvlan only succeed together (each waits, bounded, for
    // the other): proof that they run side by side.
    void meet_when_overlapped() {
        if (overlap()) {
            invoker_.group_sizes["add"] = 2;
            invoker_.rendezvous[{cni::Verb::Add, "ptp"}] = "add";
            invoker_.rendezvous[{cni::Verb::Add, "macvlan"}] = "add";
        }
    }

    bool state_exists() const { return load_state().has_value(); }

    // ADD, then DEL, of the config make_conf() gives, once with overlap on and once off: the
    // result and the state file (with the ADD's random tag replaced by "TAG") of each ADD.
    template <class MakeConf>
    std::map<bool, std::pair<std::string, std::string>> add_with_overlap_on_and_off(
        const MakeConf& make_conf) {
        std::map<bool, std::pair<std::string, std::string>> seen;
        for (const bool on : {true, false}) {
            overlap_ = on;
            EXPECT_EQ(run_verb("ADD", make_conf()), 0) << out_;
            std::ifstream file(dir_ / "state" / "ctr1@tst0.json");
            std::string text((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
            const auto state = load_state();
            EXPECT_TRUE(state && !state->add_tag.empty());
            if (state && !state->add_tag.empty() &&
                text.find(state->add_tag) != std::string::npos) {
                text.replace(text.find(state->add_tag), state->add_tag.size(), "TAG");
            }
            seen[on] = {out_, text};
            EXPECT_EQ(run_verb("DEL", make_conf()), 0) << out_;
        }
        return seen;
    }

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

    // A source that names the config's primary first, then resolves a pod whose
    // default-network annotation replaces it (by "own", a bridge).
    void the_pod_names_its_own_primary() {
        primary_before_resolve = true;
        invoker_.addresses["bridge"] = "10.88.0.7/24";
        on_resolve = [](std::vector<plan::DelegateSpec>& specs) {
            specs.front().name = "own";
            specs.front().config = R"({"name":"own","cniVersion":"1.0.0","type":"bridge"})";
        };
    }

    void fail_on(cni::Verb verb, const std::string& type) {
        invoker_.failures.emplace(std::make_pair(verb, type),
                                  cni::Error(cni::ErrorCode::Other, type + " failed"));
    }

    fs::path dir_;
    std::optional<bool> overlap_;  ///< when set, conf() uses it instead of the parameter
    std::map<std::string, std::string> env_;
    std::string out_;
    FakeInvoker invoker_;
};

TEST_P(VerbsTest, AddMergesEveryAttachmentInTheConfigVersion) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    expect_calls(cni::Verb::Add, {"ptp@tst0", "macvlan@net1", "tuning@net1"});
    const auto result = json::parse(out_);
    EXPECT_EQ(result["cniVersion"], "1.0.0");
    ASSERT_EQ(result["interfaces"].size(), 2U);
    EXPECT_EQ(result["ips"][0]["address"], "10.42.0.5/24");
    EXPECT_EQ(result["ips"][1]["interface"], 1);
    EXPECT_FALSE(result["ips"][1].contains("version"));
    // binDir is searched first; the chained plugin got the previous result in the list version.
    EXPECT_EQ(call_of("ptp").cni_path, (std::vector<std::string>{"/bin/dir", "/cni/a", "/cni/b"}));
    EXPECT_EQ(call_of("tuning").config["prevResult"]["cniVersion"], "0.3.1");
    EXPECT_TRUE(state_exists());
}

// A network naming a meta-plugin (in any plugin of a list, or as an IPAM) is refused
// before anything is attached: no plugin runs, not even the primary, and no state is left.
TEST_P(VerbsTest, MetaPluginOrPathAsANetworksPluginIsRefusedBeforeAnyWork) {
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
TEST_P(VerbsTest, RefusesToRunNestedUnderItself) {
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

TEST_P(VerbsTest, ResultIsConvertedToEveryMetaVersion) {
    int n = 0;
    for (const std::string version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
        env_["CNI_CONTAINERID"] = "ctr-v" + std::to_string(++n);
        ASSERT_EQ(run_verb("ADD", conf(version)), 0) << out_;
        const auto result = json::parse(out_);
        EXPECT_EQ(result["cniVersion"], version);
        EXPECT_EQ(result["ips"][0].contains("version"), version < "1.0.0") << version;
    }
}

TEST_P(VerbsTest, FailedSecondaryRollsBackInReverseAndKeepsTheCode) {
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

TEST_P(VerbsTest, FailedAddIsReportedToTheSourceOnceAfterItsRollback) {
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

TEST_P(VerbsTest, FailureBeforeAnyAttachmentIsReportedToo) {
    // A second ADD of a finished attachment is refused before anything is done.
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    ASSERT_EQ(add_failed_calls.size(), 1U);
    EXPECT_EQ(add_failed_calls.front().error.code(), 7U);
}

TEST_P(VerbsTest, SuccessfulAddIsReportedOnceAndNeverAsAFailure) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(after_add_calls, (std::vector<std::size_t>{2}));
    EXPECT_TRUE(add_failed_calls.empty());
    // DEL reports nothing.
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(add_failed_calls.empty());
    EXPECT_EQ(after_add_calls.size(), 1U);
}

TEST_P(VerbsTest, DelReplaysTheStoredPlanInReverseAndIsIdempotent) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(out_.empty());
    expect_dels({"tuning@net1", "macvlan@net1", "ptp@tst0"});
    // prevResult is the attachment's own result (0.3.1 list: libcni passes none below 0.4.0).
    for (const auto& call : invoker_.calls) {
        EXPECT_EQ(call.config.contains("prevResult"), call.ifname == "tst0") << call.type;
    }
    EXPECT_FALSE(state_exists());
    // Without state the config is replayed: the primary still gets its DEL.
    invoker_.calls.clear();
    env_.erase("CNI_NETNS");
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(del_called("ptp@tst0"));
}

TEST_P(VerbsTest, DelAggregatesErrorsButDeletesEverything) {
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
TEST_P(VerbsTest, RetryDeleteOnErrorKeepsTheStateUnlessTheFailureIsEnoent) {
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
    EXPECT_TRUE(del_called("tuning@net1"));
    EXPECT_TRUE(del_called("macvlan@net1"));
    EXPECT_FALSE(state_exists());
    EXPECT_EQ(json::parse(out_)["code"], 999) << out_;
}

TEST_P(VerbsTest, DelWithoutStateOnlyFailsForThePrimary) {
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("macvlan")),
                              cni::Error(cni::ErrorCode::Other, "Link not found"));
    EXPECT_EQ(run_verb("DEL", conf()), 0) << out_;  // never added: only a guess
    EXPECT_TRUE(del_called("ptp@tst0"));
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("ptp")),
                              cni::Error(11U, "busy", ""));
    EXPECT_EQ(run_verb("DEL", conf()), 1);
    EXPECT_EQ(json::parse(out_)["code"], 11);
}

TEST_P(VerbsTest, CheckTakesMacsFromTheRuntimesPrevResult) {
    ASSERT_EQ(run_verb("ADD", conf()), 0);
    auto merged = json::parse(out_);
    merged["interfaces"][0]["mac"] = "02:aa:bb:cc:dd:ee";  // a chained tuning changed it
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("CHECK", conf("1.0.0", R"(,"prevResult":)" + merged.dump())), 0) << out_;
    EXPECT_EQ(invoker_.calls[0].config["prevResult"]["interfaces"][0]["mac"], "02:aa:bb:cc:dd:ee");
}

TEST_P(VerbsTest, CheckUsesEachAttachmentsOwnResult) {
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

TEST_P(VerbsTest, ErrorsAreOneJsonDocument) {
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

TEST_P(VerbsTest, VersionAndAbout) {
    EXPECT_EQ(run_verb("VERSION", ""), 0);
    const auto doc = json::parse(out_);
    EXPECT_EQ(doc["cniVersion"], "1.1.0");
    EXPECT_EQ(doc["supportedVersions"].size(), 7U);
    env_.erase("CNI_COMMAND");
}

TEST_P(VerbsTest, StatusNeedsTheReadinessFileAndThePrimary) {
    const auto ready = (dir_ / "ready").string();
    const auto with_ready = R"(,"readinessindicatorfile":")" + ready + "\"";
    env_["CNI_CONTAINERID"] = "";
    EXPECT_EQ(run_verb("STATUS", conf("1.1.0", with_ready)), 1);
    EXPECT_EQ(json::parse(out_)["code"], 50);
    std::ofstream(ready).put('x');
    EXPECT_EQ(run_verb("STATUS", conf("1.1.0", with_ready)), 0) << out_;
}

TEST_P(VerbsTest, AddWaitsBoundedForTheReadinessFileDelNever) {
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

TEST_P(VerbsTest, GcDeletesStateTheRuntimeNoLongerLists) {
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

TEST_P(VerbsTest, PrimaryResultModeReturnsOnlyThePrimary) {
    ASSERT_EQ(run_verb("ADD", conf("1.0.0", R"(,"resultMode":"primary")")), 0);
    EXPECT_EQ(json::parse(out_)["interfaces"].size(), 1U);
}

TEST_P(VerbsTest, StateIsKeyedPerRuntimeIfname) {
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
    EXPECT_TRUE(del_called("ptp@tst0"));
}

TEST_P(VerbsTest, AFinishedAddIsMarkedAndCarriesATag) {
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

TEST_P(VerbsTest, FailedRollbackKeepsWhatIsLeftForTheNextDel) {
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

TEST_P(VerbsTest, RetriedAddWithoutDelFirstRemovesTheLeftovers) {
    fail_on(cni::Verb::Add, "tuning");
    fail_on(cni::Verb::Del, "macvlan");
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    invoker_.failures.clear();
    invoker_.calls.clear();
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"tuning@net1", "macvlan@net1"}));
    EXPECT_EQ(load_state()->attachments.size(), 2U);
}

TEST_P(VerbsTest, EveryAddDelAndCheckLeavesOneOutcomeLineForTheAgent) {
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

TEST_P(VerbsTest, DelLeavesNoFileBehind) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(state_files().empty()) << state_files().front();
    // A corrupt state file is set aside, and removed by the DEL that succeeds without it.
    fs::create_directories(dir_ / "state");
    std::ofstream(dir_ / "state/ctr1@tst0.json") << "{";
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(state_files().empty()) << state_files().front();
}

TEST_P(VerbsTest, DelOnAnUnusableCniDirStillCallsEveryDelegate) {
    std::ofstream(dir_ / "state").put('x');  // cniDir cannot be created, locked nor written
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    expect_dels({"tuning@net1", "macvlan@net1", "ptp@tst0"});
}

TEST_P(VerbsTest, GcKeepsWhatItCouldNotDelete) {
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

TEST_P(VerbsTest, GcKeepsOtherIfnamesOfAListedContainer) {
    ASSERT_EQ(run_verb("ADD", conf("1.1.0")), 0) << out_;
    const auto gc =
        conf("1.1.0", R"(,"cni.dev/valid-attachments":[{"containerID":"ctr1","ifname":"eth9"}])");
    ASSERT_EQ(run_verb("GC", gc), 0) << out_;
    EXPECT_FALSE(state_exists());  // ctr1/tst0 is not listed, only ctr1/eth9
}

// With overlap, DEL deletes the attachments side by side: each fake DEL below waits (bounded)
// until two are in at once, which one-after-another DELs never are.
TEST_P(VerbsTest, DelRunsIndependentAttachmentsTogetherOnlyWithOverlap) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    if (!overlap()) {
        // One after another: the first DEL would wait for a partner that never comes.
        invoker_.calls.clear();
        ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
        expect_dels({"tuning@net1", "macvlan@net1", "ptp@tst0"});
        return;
    }
    invoker_.calls.clear();
    invoker_.group_sizes["del"] = 2;
    invoker_.rendezvous[{cni::Verb::Del, "tuning"}] = "del";
    invoker_.rendezvous[{cni::Verb::Del, "ptp"}] = "del";
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    expect_dels({"tuning@net1", "macvlan@net1", "ptp@tst0"});
    EXPECT_TRUE(state_files().empty());
}

// Errors are judged in reverse plan order whatever finished first: the code is the last
// attachment's and the message lists the failures as a sequential DEL would.
TEST_P(VerbsTest, DelErrorsAreAggregatedInReversePlanOrder) {
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("ptp")),
                              cni::Error(11U, "ptp busy", ""));
    invoker_.failures.emplace(std::make_pair(cni::Verb::Del, std::string("tuning")),
                              cni::Error(cni::ErrorCode::Other, "tuning boom"));
    EXPECT_EQ(run_verb("DEL", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 999);
    EXPECT_EQ(error["msg"],
              "errors: network \"vpn\" (net1): tuning boom / network \"cluster\" (tst0): ptp busy");
    EXPECT_FALSE(state_exists());
}

// The primary and a network that needs nothing of it are added side by side with overlap (each
// fake ADD below waits, bounded, until both are in: it fails when they run one after another).
TEST_P(VerbsTest, AddRunsThePrimaryAndAnIndependentNetworkTogetherOnlyWithOverlap) {
    meet_when_overlapped();
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    expect_calls(cni::Verb::Add, {"ptp@tst0", "macvlan@net1", "tuning@net1"});
    const auto state = load_state();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->phase, store::Phase::Added);
    for (const auto& done : state->attachments) {
        EXPECT_FALSE(done.result.is_null()) << done.attachment.ifname;
    }
}

// The same request gives the same result and the same state file, byte for byte (but for the
// random tag of the ADD), with overlap on and off.
TEST_P(VerbsTest, AddResultAndStateAreIdenticalWithOverlapOnAndOff) {
    auto seen = add_with_overlap_on_and_off([this] { return conf(); });
    EXPECT_EQ(seen[true].first, seen[false].first);
    EXPECT_EQ(seen[true].second, seen[false].second);
}

// A network whose plugin is given the primary's result (an egress block) gets it: without
// overlap in its one ADD after the primary's; with overlap its native plugin is split at the
// egress step: link, addresses and routes side by side with the primary (each fake ADD below
// waits, bounded, until both are in), the policy with the primary's result after it.
TEST_P(VerbsTest, ANetworkWithEgressIsSplitAtItsPolicyStepWithOverlap) {
    meet_when_overlapped();
    ASSERT_EQ(run_verb("ADD", egress_conf()), 0) << out_;
    const auto macvlan = calls_of("macvlan");
    if (!overlap()) {
        EXPECT_EQ(sequence(cni::Verb::Add), (std::vector<std::string>{"ptp@tst0", "macvlan@net1"}));
        ASSERT_EQ(macvlan.size(), 1U);
        EXPECT_FALSE(macvlan[0].config["splitnetContext"].contains("egressStep"));
        EXPECT_EQ(macvlan[0].config["splitnetContext"]["primaryIfname"], "tst0");
        EXPECT_EQ(macvlan[0].config["splitnetContext"]["primaryResult"]["ips"][0]["address"],
                  "10.42.0.5/24");
        return;
    }
    ASSERT_EQ(macvlan.size(), 2U);
    const auto& before = macvlan[0].config;
    EXPECT_EQ(before["splitnetContext"]["egressStep"], "beforePolicy");
    EXPECT_EQ(before["splitnetContext"]["primaryIfname"], "tst0");
    EXPECT_FALSE(before["splitnetContext"].contains("primaryResult"));
    EXPECT_FALSE(before.contains("prevResult"));
    const auto& policy = macvlan[1].config;
    EXPECT_EQ(policy["splitnetContext"]["egressStep"], "policy");
    EXPECT_EQ(policy["splitnetContext"]["primaryResult"]["ips"][0]["address"], "10.42.0.5/24");
    EXPECT_EQ(policy["prevResult"]["ips"][0]["address"], "192.168.99.99/24");
    EXPECT_EQ(policy["prevResult"]["interfaces"][0]["name"], "net1");
    EXPECT_EQ(sequence(cni::Verb::Add).back(), "macvlan@net1");  // the policy comes last
    const auto state = load_state();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->attachments[1].result["ips"][0]["address"], "192.168.99.99/24");
}

// An exec'd macvlan (disableNative) is the reference plugin, which knows no steps: the network
// waits for the primary, with overlap too.
TEST_P(VerbsTest, AnExecdNetworkWithEgressIsNotSplit) {
    ASSERT_EQ(run_verb("ADD", egress_conf(R"(,"disableNative":true)")), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Add), (std::vector<std::string>{"ptp@tst0", "macvlan@net1"}));
    EXPECT_FALSE(calls_of("macvlan")[0].config["splitnetContext"].contains("egressStep"));
}

// Split or not, the result and the state file are the same, byte for byte (but for the random
// tag of the ADD).
TEST_P(VerbsTest, AddWithEgressGivesTheSameResultAndStateWithOverlapOnAndOff) {
    auto seen = add_with_overlap_on_and_off([this] { return egress_conf(); });
    EXPECT_EQ(seen[true].first, seen[false].first);
    EXPECT_EQ(seen[true].second, seen[false].second);
    EXPECT_EQ(calls_of("macvlan").size(), 3U);  // split once (overlap on), whole once (off)
}

// Kill-safety: while the policy step runs, the state holds the primary's result and net1's
// plan without a result, as during a sequential ADD of net1: a DEL after a kill removes both.
TEST_P(VerbsTest, TheStateHoldsThePlanWhileTheEgressPolicyIsApplied) {
    std::optional<store::State> during;
    invoker_.on_policy = [&] { during = load_state(); };
    ASSERT_EQ(run_verb("ADD", egress_conf()), 0) << out_;
    if (!overlap()) {
        EXPECT_FALSE(during);  // no separate policy step
        return;
    }
    ASSERT_TRUE(during);
    EXPECT_EQ(during->phase, store::Phase::Adding);
    ASSERT_EQ(during->attachments.size(), 2U);
    EXPECT_FALSE(during->attachments[0].result.is_null());
    EXPECT_TRUE(during->attachments[1].result.is_null());
}

// Failure injection: the egress policy fails after the primary returned. The error (code and
// message) is the one of the whole ADD without overlap; net1 and the primary are removed, last
// planned first; nothing is left.
TEST_P(VerbsTest, EgressPolicyFailureAfterThePrimaryLeavesNothing) {
    invoker_.policy_failure =
        cni::Error(cni::ErrorCode::TryAgainLater, "egress: the VPN gateway did not answer");
    EXPECT_EQ(run_verb("ADD", egress_conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 11);
    EXPECT_EQ(error["msg"],
              "error adding network \"vpn\" (net1): egress: the VPN gateway did not answer");
    EXPECT_EQ(calls_of("macvlan").size(), overlap() ? 2U : 1U);
    EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"macvlan@net1", "ptp@tst0"}));
    EXPECT_TRUE(state_files().empty());
    ASSERT_EQ(add_failed_calls.size(), 1U);
}

// Failure injection: the primary fails while net1's link is made. Its error is returned, the
// policy step never runs, and net1 (made with overlap) is removed before the primary.
TEST_P(VerbsTest, PrimaryFailureSkipsTheEgressPolicy) {
    fail_on(cni::Verb::Add, "ptp");
    meet_when_overlapped();
    EXPECT_EQ(run_verb("ADD", egress_conf()), 1);
    EXPECT_EQ(json::parse(out_)["msg"], "error adding network \"cluster\" (tst0): ptp failed");
    const auto macvlan = calls_of("macvlan");
    if (overlap()) {
        ASSERT_EQ(macvlan.size(), 1U);
        EXPECT_EQ(macvlan[0].config["splitnetContext"]["egressStep"], "beforePolicy");
        EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"macvlan@net1", "ptp@tst0"}));
    } else {
        EXPECT_TRUE(macvlan.empty());
        EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"ptp@tst0"}));
    }
    EXPECT_TRUE(state_files().empty());
}

// Failure injection: the primary fails while net1 is being made (with overlap both are in at
// once). The error is the primary's, as without overlap; whatever was started is removed, in
// reverse plan order; nothing is left.
TEST_P(VerbsTest, PrimaryFailsWhileTheSecondaryIsMade) {
    fail_on(cni::Verb::Add, "ptp");
    meet_when_overlapped();
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 999);
    EXPECT_EQ(error["msg"], "error adding network \"cluster\" (tst0): ptp failed");
    if (overlap()) {
        EXPECT_EQ(sequence(cni::Verb::Del),
                  (std::vector<std::string>{"tuning@net1", "macvlan@net1", "ptp@tst0"}));
    } else {
        EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"ptp@tst0"}));
    }
    EXPECT_TRUE(state_files().empty());
    ASSERT_EQ(add_failed_calls.size(), 1U);
}

// Failure injection: net1 fails while the primary runs. Its error is returned, and both are
// removed, last planned first.
TEST_P(VerbsTest, SecondaryFailsWhileThePrimaryRuns) {
    fail_on(cni::Verb::Add, "macvlan");
    meet_when_overlapped();
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 999);
    EXPECT_EQ(error["msg"], "error adding network \"vpn\" (net1): macvlan failed");
    EXPECT_EQ(sequence(cni::Verb::Del),
              (std::vector<std::string>{"tuning@net1", "macvlan@net1", "ptp@tst0"}));
    EXPECT_TRUE(state_files().empty());
}

// Both fail: the first in plan order (the primary) decides the error, with overlap too.
TEST_P(VerbsTest, WhenBothFailThePrimarysErrorIsReturned) {
    fail_on(cni::Verb::Add, "ptp");
    fail_on(cni::Verb::Add, "macvlan");
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    EXPECT_EQ(json::parse(out_)["msg"], "error adding network \"cluster\" (tst0): ptp failed");
    EXPECT_TRUE(state_files().empty());
}

// The rollback of an overlapped ADD whose DEL of net1 fails keeps net1 in the state (as the
// sequential one does) so that the runtime's DEL retries it.
TEST_P(VerbsTest, FailedRollbackOfAnOverlappedAddKeepsWhatIsLeft) {
    fail_on(cni::Verb::Add, "ptp");
    fail_on(cni::Verb::Del, "macvlan");
    meet_when_overlapped();
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    if (!overlap()) {
        EXPECT_TRUE(state_files().empty());  // net1 was never started
        return;
    }
    const auto state = load_state();
    ASSERT_TRUE(state);
    ASSERT_EQ(state->attachments.size(), 1U);
    EXPECT_EQ(state->attachments[0].attachment.ifname, "net1");
    invoker_.failures.clear();
    invoker_.rendezvous.clear();
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_TRUE(state_files().empty());
}

// A source that reads the API (Kubernetes) names the config's primary first: with overlap its
// ADD runs while the pod's networks are resolved; without, only once they are.
TEST_P(VerbsTest, AnApiSourcesPrimaryRunsWhileThePodsNetworksAreResolved) {
    primary_before_resolve = true;
    if (overlap()) {
        invoker_.group_sizes["resolve"] = 2;
        invoker_.rendezvous[{cni::Verb::Add, "ptp"}] = "resolve";
    }
    on_resolve = [this](std::vector<plan::DelegateSpec>& /*specs*/) {
        if (overlap()) {
            EXPECT_TRUE(invoker_.arrive("resolve"));  // the primary's ADD is in meanwhile
        } else {
            EXPECT_TRUE(invoker_.calls.empty());
        }
    };
    ASSERT_EQ(run_verb("ADD", conf()), 0) << out_;
    expect_calls(cni::Verb::Add, {"ptp@tst0", "macvlan@net1", "tuning@net1"});
    EXPECT_TRUE(sequence(cni::Verb::Del).empty());
    const auto state = load_state();
    ASSERT_TRUE(state);
    ASSERT_EQ(state->attachments.size(), 2U);
    EXPECT_FALSE(state->attachments[0].result.is_null());
    EXPECT_EQ(state->phase, store::Phase::Added);
}

// The merged result and the state of an ADD whose primary started early are those of the
// sequential ADD.
TEST_P(VerbsTest, AnEarlyPrimaryGivesTheSequentialResultAndState) {
    primary_before_resolve = true;
    const auto seen = add_with_overlap_on_and_off([this] { return conf(); });
    EXPECT_EQ(seen.at(true), seen.at(false));
    EXPECT_TRUE(state_files().empty());
}

// The pod names its own primary (the default-network annotation): the config's, started early,
// is removed before the pod's is added, and the result and state are the sequential ones.
TEST_P(VerbsTest, AnEarlyPrimaryThePodReplacesIsRemovedFirst) {
    the_pod_names_its_own_primary();
    const auto seen = add_with_overlap_on_and_off([this] { return conf(); });
    EXPECT_EQ(seen.at(true), seen.at(false));
    EXPECT_NE(seen.at(true).first.find("10.88.0.7/24"), std::string::npos);
    // Only the ADD with overlap started ptp; its DEL came before the pod's primary was added.
    EXPECT_EQ(calls_of("ptp").size(), 1U);
    const auto& calls = invoker_.calls;
    const auto ptp_del = std::find_if(calls.begin(), calls.end(), [](const Call& call) {
        return call.verb == cni::Verb::Del && call.type == "ptp";
    });
    const auto bridge_add = std::find_if(calls.begin(), calls.end(), [](const Call& call) {
        return call.verb == cni::Verb::Add && call.type == "bridge";
    });
    EXPECT_LT(ptp_del - calls.begin(), bridge_add - calls.begin());
    EXPECT_TRUE(state_files().empty());
}

// Failure injection: the pod's networks cannot be resolved (the API fails) while the early
// primary runs. The error is the one without an early start, and the primary is removed.
TEST_P(VerbsTest, AResolveFailureRemovesTheEarlyPrimary) {
    primary_before_resolve = true;
    on_resolve = [](std::vector<plan::DelegateSpec>& /*specs*/) {
        throw cni::Error(cni::ErrorCode::TryAgainLater, "pod unreadable", "the API is down");
    };
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 11);
    EXPECT_EQ(error["msg"], "pod unreadable");
    EXPECT_EQ(error["details"], "the API is down");
    if (overlap()) {
        EXPECT_EQ(sequence(cni::Verb::Add), (std::vector<std::string>{"ptp@tst0"}));
        EXPECT_EQ(sequence(cni::Verb::Del), (std::vector<std::string>{"ptp@tst0"}));
    } else {
        EXPECT_TRUE(invoker_.calls.empty());
    }
    EXPECT_FALSE(state_exists());
    ASSERT_EQ(add_failed_calls.size(), 1U);
    EXPECT_EQ(add_failed_calls.front().error.msg(), "pod unreadable");
}

// Failure injection: a network of the pod is refused by the checks made before any attachment
// of its own (a meta-plugin) while the early primary runs: the same error, nothing left.
TEST_P(VerbsTest, APlanRefusedAfterTheEarlyStartRemovesThePrimary) {
    primary_before_resolve = true;
    on_resolve = [](std::vector<plan::DelegateSpec>& specs) {
        specs.back().config = R"({"name":"vpn","cniVersion":"1.0.0","type":"multus"})";
    };
    std::map<bool, std::string> errors;
    for (const bool on : {true, false}) {
        overlap_ = on;
        invoker_.calls.clear();
        EXPECT_EQ(run_verb("ADD", conf()), 1);
        errors[on] = out_;
        EXPECT_EQ(sequence(cni::Verb::Del), sequence(cni::Verb::Add));
        EXPECT_EQ(calls_of("ptp").size(), on ? 1U : 0U);
        EXPECT_FALSE(state_exists());
    }
    EXPECT_EQ(errors.at(true), errors.at(false));
    EXPECT_EQ(json::parse(errors.at(true))["code"], 7);
}

// Failure injection: the early primary the pod replaces cannot be removed. The ADD fails
// without adding the pod's primary, and the state keeps the early one for the runtime's DEL.
TEST_P(VerbsTest, AnEarlyPrimaryThatCannotBeRemovedStaysForTheRuntimesDel) {
    the_pod_names_its_own_primary();
    fail_on(cni::Verb::Del, "ptp");
    if (!overlap()) {
        EXPECT_EQ(run_verb("ADD", conf()), 0) << out_;  // ptp is never run
        EXPECT_TRUE(calls_of("ptp").empty());
        return;
    }
    EXPECT_EQ(run_verb("ADD", conf()), 1);
    const auto error = json::parse(out_);
    EXPECT_EQ(error["code"], 11);
    EXPECT_EQ(error["msg"],
              "network \"cluster\", started before the pod's networks were known, cannot be "
              "removed");
    EXPECT_TRUE(calls_of("bridge").empty());
    const auto state = load_state();
    ASSERT_TRUE(state);
    ASSERT_EQ(state->attachments.size(), 1U);
    EXPECT_EQ(state->attachments[0].attachment.network, "cluster");
    invoker_.failures.clear();
    ASSERT_EQ(run_verb("DEL", conf()), 0) << out_;
    EXPECT_EQ(sequence(cni::Verb::Del).back(), "ptp@tst0");
    EXPECT_TRUE(state_files().empty());
}

INSTANTIATE_TEST_SUITE_P(Overlap, VerbsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                             return param.param ? "On" : "Off";
                         });

}  // namespace
}  // namespace splitnet::verbs
