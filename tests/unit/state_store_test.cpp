#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/state.hpp"
#include "testutil/scratch_dir.hpp"

namespace splitnet::store {
namespace {

using nlohmann::json;
using testutil::ScratchDir;

// A function, not a global: a std::string built before main could throw where nothing catches it.
StateKey sample_key() {
    return {"c0ffee", "eth0"};
}

State sample_state(const std::string& id = "c0ffee") {
    State state;
    state.container_id = id;
    state.ifname = "eth0";
    state.cni_version = "1.0.0";
    state.netns = "/var/run/netns/pod";

    AttachmentState primary;
    primary.attachment.network = "cbr0";
    primary.attachment.ifname = "eth0";
    // Odd spacing, key order and a float: must come back byte for byte.
    primary.attachment.config =
        "{ \"type\":\"bridge\",  \"name\" : \"cbr0\",\n\t\"mtu\": 1.50e3, \"z\":\"\\u00e9\" }";
    primary.attachment.cni_args = "IgnoreUnknown=true;K8S_POD_NAME=p";
    primary.attachment.is_primary = true;
    primary.result = json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"}]})");

    AttachmentState secondary;
    secondary.attachment.network = "ns1/vpn-net";
    secondary.attachment.ifname = "net1";
    secondary.attachment.config = R"({"cniVersion":"1.0.0","name":"vpn-net","type":"macvlan"})";
    secondary.attachment.runtime_config =
        json{{"ips", {"192.0.2.10/24"}}, {"mac", "02:00:00:00:00:01"}};
    plan::Selection selection;
    selection.name = "vpn-net";
    selection.namespace_ = "ns1";
    selection.interface = "net1";
    selection.ips = {"192.0.2.10/24"};
    selection.mac = "02:00:00:00:00:01";
    selection.cni_args = json{{"foo", "bar"}};
    selection.default_route = std::vector<std::string>{};
    secondary.attachment.selection = selection;  // result stays null: ADD did not get there

    state.attachments = {primary, secondary};
    return state;
}

void expect_same(const State& a, const State& b) {
    EXPECT_EQ(state_to_json(a), state_to_json(b));
    ASSERT_EQ(a.attachments.size(), b.attachments.size());
    for (std::size_t i = 0; i < a.attachments.size(); ++i) {
        EXPECT_EQ(a.attachments[i].attachment.config, b.attachments[i].attachment.config);
    }
}

TEST(StateJson, RoundTripKeepsConfigBytesAndOptionalParts) {
    const State state = sample_state();
    const json doc = state_to_json(state);
    EXPECT_EQ(doc.at("kind"), "splitnetState");
    EXPECT_EQ(doc.at("version"), 1);
    EXPECT_TRUE(doc.at("attachments").at(0).at("config").is_string());
    EXPECT_FALSE(doc.at("attachments").at(0).contains("selection"));
    EXPECT_TRUE(doc.at("attachments").at(1).at("result").is_null());

    const State back = state_from_json(json::parse(doc.dump()));
    expect_same(state, back);
    EXPECT_EQ(back.attachments[0].attachment.config, state.attachments[0].attachment.config);
    ASSERT_TRUE(back.attachments[1].attachment.selection);
    const auto& sel = *back.attachments[1].attachment.selection;
    EXPECT_EQ(sel.namespace_, "ns1");
    ASSERT_TRUE(sel.default_route);  // present even though empty
    EXPECT_TRUE(sel.default_route->empty());
    EXPECT_TRUE(sel.port_mappings.is_null());
    EXPECT_EQ(sel.cni_args, (json{{"foo", "bar"}}));
}

TEST(StateJson, RejectsForeignOrMalformedDocuments) {
    json good = state_to_json(sample_state());
    const auto code_of = [](const json& doc) {
        try {
            state_from_json(doc);
        } catch (const cni::Error& e) {
            return e.code();
        }
        return 0U;
    };
    EXPECT_EQ(code_of(good), 0U);
    for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
             {"kind", "cniCacheV1"},
             {"version", 2},
             {"version", "1"},
             {"containerId", 5},
             {"attachments", json::object()},
         }) {
        json bad = good;
        bad[key] = value;
        EXPECT_EQ(code_of(bad), 6U) << key << "=" << value;
    }
    json bad = good;
    bad["attachments"][0].erase("config");
    EXPECT_EQ(code_of(bad), 6U);
    EXPECT_EQ(code_of(json::array()), 6U);
}

TEST(StateStore, SaveLoadRoundTripWithPrivateModes) {
    const ScratchDir root;
    const StateStore store(root / "a/b/state");
    EXPECT_FALSE(store.load(sample_key()));
    store.save(sample_state());

    struct stat st {};

    ASSERT_EQ(::stat((root / "a/b/state").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700U);
    ASSERT_EQ(::stat((root / "a/b/state/c0ffee@eth0.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600U);

    const auto loaded = store.load(sample_key());
    ASSERT_TRUE(loaded);
    expect_same(*loaded, sample_state());
}

TEST(StateStore, SaveReplacesAtomicallyAndLeavesNoTempFiles) {
    const ScratchDir root;
    const StateStore store(root.path());
    State state = sample_state();
    store.save(state);
    state.netns = "/var/run/netns/other";
    store.save(state);
    EXPECT_EQ(store.load(sample_key())->netns, "/var/run/netns/other");
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(root.path())) {
        names.push_back(entry.path().filename());
    }
    EXPECT_EQ(names, std::vector<std::string>{"c0ffee@eth0.json"});

    // The replacement (an exchange with the old file where the filesystem has one) keeps the
    // private mode.
    struct stat st {};

    ASSERT_EQ(::stat((root / "c0ffee@eth0.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600U);
}

TEST(StateStore, LockExcludesOthersUntilReleased) {
    const ScratchDir root;
    const StateStore store(root / "s");
    const std::string lock_path = root / "s/c0ffee@eth0.lock";
    const auto try_lock = [&] {
        const util::UniqueFd other(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
        return other.valid() && ::flock(other.get(), LOCK_EX | LOCK_NB) == 0;
    };
    {
        const util::UniqueFd held = store.lock(sample_key());
        ASSERT_TRUE(held.valid());
        EXPECT_EQ(::fcntl(held.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        EXPECT_FALSE(try_lock());
        EXPECT_TRUE(store.lock({"other-id", "eth0"}).valid());  // per container, not global
    }
    EXPECT_TRUE(try_lock());
}

// True once /proc/locks shows a process blocked ("->") on a flock of inode `ino`.
bool someone_waits_on(ino_t ino) {
    const std::string locks = testutil::read_file("/proc/locks");
    const std::string needle = ":" + std::to_string(ino) + " ";
    std::size_t start = 0;
    while (start < locks.size()) {
        const auto end = locks.find('\n', start);
        const std::string line = locks.substr(start, end - start);
        if (line.find("->") != std::string::npos && line.find(needle) != std::string::npos) {
            return true;
        }
        start = end == std::string::npos ? locks.size() : end + 1;
    }
    return false;
}

TEST(StateStore, WaiterFollowsALockFileUnlinkedByTheHolder) {
    const ScratchDir root;
    const StateStore store(root.path());
    const std::string lock_path = root / "c0ffee@eth0.lock";
    util::UniqueFd first = store.lock(sample_key());

    struct stat st {};

    ASSERT_EQ(::fstat(first.get(), &st), 0);

    util::UniqueFd second;
    std::thread waiter([&] { second = store.lock(sample_key()); });
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!someone_waits_on(st.st_ino) && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // bounded condition poll
    }
    ASSERT_TRUE(someone_waits_on(st.st_ino));
    ::unlink(lock_path.c_str());  // a holder cleaning up before it releases
    first.reset();
    waiter.join();

    ASSERT_TRUE(second.valid());
    const util::UniqueFd probe(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(probe.valid()) << "the waiter did not recreate the lock file";
    EXPECT_NE(::flock(probe.get(), LOCK_EX | LOCK_NB), 0)
        << "waiter kept a lock on an unlinked file";
}

TEST(StateStore, CorruptFileIsMovedAsideAndReportedAbsent) {
    const ScratchDir root;
    const StateStore store(root.path());
    testutil::write_file(root / "c0ffee@eth0.json", R"({"kind":"splitnetState","vers)", 0600);
    EXPECT_FALSE(store.load(sample_key()));
    EXPECT_FALSE(std::filesystem::exists(root / "c0ffee@eth0.json"));
    EXPECT_EQ(testutil::read_file(root / "c0ffee@eth0.corrupt"),
              R"({"kind":"splitnetState","vers)");
    store.save(sample_state());  // a retried ADD can start over
    EXPECT_TRUE(store.load(sample_key()));
}

TEST(StateStore, StateOfAnotherContainerCountsAsCorrupt) {
    const ScratchDir root;
    const StateStore store(root.path());
    testutil::write_file(root / "c0ffee@eth0.json",
                         state_to_json(sample_state("someone-else")).dump(), 0600);
    EXPECT_FALSE(store.load(sample_key()));
    EXPECT_TRUE(std::filesystem::exists(root / "c0ffee@eth0.corrupt"));
}

TEST(StateStore, HostileContainerIdsAreRejectedBeforeAnyPathIsBuilt) {
    const ScratchDir root;
    const StateStore store(root / "s");
    for (const std::string id : {"", ".", "..", "../x", "a/b", "-lead", ".hidden", "a b", "x\n"}) {
        State state = sample_state();
        state.container_id = id;
        EXPECT_THROW(store.save(state), cni::Error) << id;
        EXPECT_THROW(store.load({id, "eth0"}), cni::Error) << id;
        EXPECT_THROW(store.remove({id, "eth0"}), cni::Error) << id;
        EXPECT_THROW(store.lock({id, "eth0"}), cni::Error) << id;
    }
    try {
        store.load({"../x", "eth0"});
    } catch (const cni::Error& e) {
        EXPECT_EQ(e.code(), 4U);
        EXPECT_EQ(e.details(), "../x");
    }
    EXPECT_FALSE(std::filesystem::exists(root / "s"));
    EXPECT_FALSE(std::filesystem::exists(root / "x.json"));
}

TEST(StateStore, ListReturnsStateFilesOnly) {
    const ScratchDir root;
    const StateStore store(root.path());
    EXPECT_TRUE(StateStore(root / "missing").list().empty());
    store.save(sample_state("b2"));
    store.save(sample_state("a1.json"));
    const auto lock = store.lock({"c3", "eth0"});
    testutil::write_file(root / "d4.corrupt", "x", 0600);
    testutil::write_file(root / ".e5.json.tmp.abcdef", "x", 0600);
    testutil::write_file(root / ".json", "x", 0600);
    EXPECT_EQ(store.list(), (std::vector<StateKey>{{"a1.json", "eth0"}, {"b2", "eth0"}}));
}

TEST(StateStore, RemoveIsIdempotent) {
    const ScratchDir root;
    const StateStore store(root.path());
    store.save(sample_state());
    store.remove(sample_key());
    EXPECT_FALSE(store.load(sample_key()));
    EXPECT_NO_THROW(store.remove(sample_key()));
    EXPECT_TRUE(store.list().empty());
}

TEST(StateStore, EachRuntimeIfnameOfAContainerHasItsOwnState) {
    const ScratchDir root;
    const StateStore store(root.path());
    State eth0 = sample_state();
    State eth1 = sample_state();
    eth1.ifname = "eth1";
    eth1.netns = "/var/run/netns/second";
    store.save(eth0);
    store.save(eth1);
    EXPECT_EQ(store.list(), (std::vector<StateKey>{{"c0ffee", "eth0"}, {"c0ffee", "eth1"}}));
    store.remove({"c0ffee", "eth1"});  // e.g. a failed ADD of eth1 rolled back
    ASSERT_TRUE(store.load(sample_key()));
    EXPECT_EQ(store.load(sample_key())->netns, "/var/run/netns/pod");
    EXPECT_FALSE(store.load({"c0ffee", "eth1"}));
    EXPECT_THROW(store.load({"c0ffee", "a/b"}), cni::Error);  // never a path
}

TEST(StateStore, PreviousReleaseFilesAreReadForTheirIfnameAndRemoved) {
    const ScratchDir root;
    const StateStore store(root.path());
    json old = state_to_json(sample_state());
    old.erase("ifname");  // the previous release wrote neither of these
    old.erase("phase");
    old.erase("addTag");
    testutil::write_file(root / "c0ffee.json", old.dump(), 0600);
    testutil::write_file(root / "c0ffee.lock", "", 0600);
    testutil::write_file(root / "c0ffee.corrupt", "x", 0600);
    EXPECT_FALSE(store.load({"c0ffee", "eth1"}));  // written for the primary's eth0
    const auto loaded = store.load(sample_key());
    ASSERT_TRUE(loaded);
    EXPECT_TRUE(loaded->from_legacy_file);
    EXPECT_EQ(loaded->phase, Phase::Added);
    EXPECT_EQ(loaded->ifname, "eth0");
    EXPECT_EQ(store.list(), (std::vector<StateKey>{sample_key()}));
    store.remove(sample_key(), loaded->from_legacy_file);
    EXPECT_FALSE(std::filesystem::exists(root / "c0ffee.json"));
    EXPECT_FALSE(std::filesystem::exists(root / "c0ffee.lock"));
    EXPECT_FALSE(std::filesystem::exists(root / "c0ffee.corrupt"));
}

TEST(StateStore, RemoveTakesCorruptAndLockFilesAlong) {
    const ScratchDir root;
    const StateStore store(root.path());
    {
        const auto lock = store.lock(sample_key());
        testutil::write_file(root / "c0ffee@eth0.json", "{", 0600);
        EXPECT_FALSE(store.load(sample_key()));  // moved aside
        EXPECT_TRUE(std::filesystem::exists(root / "c0ffee@eth0.corrupt"));
        store.remove(sample_key());
        store.remove_lock_file(sample_key());
    }
    EXPECT_TRUE(std::filesystem::is_empty(root.path()));
}

TEST(StateStore, RemoveTakesTheTempFilesOfAKilledSaveAlong) {
    const ScratchDir root;
    const StateStore store(root.path());
    store.save(sample_state());
    // What a save killed between its system calls leaves, next to files that are not ours.
    testutil::write_file(root / ".c0ffee@eth0.json.tmp.a1B2c3", "{", 0600);
    testutil::write_file(root / ".c0ffee@eth1.json.tmp.a1B2c3", "{", 0600);
    testutil::write_file(root / ".c0ffee@eth0.json.tmp.longer1", "{", 0600);
    store.remove(sample_key());
    EXPECT_FALSE(std::filesystem::exists(root / ".c0ffee@eth0.json.tmp.a1B2c3"));
    EXPECT_FALSE(std::filesystem::exists(root / "c0ffee@eth0.json"));
    EXPECT_TRUE(std::filesystem::exists(root / ".c0ffee@eth1.json.tmp.a1B2c3"));
    EXPECT_TRUE(std::filesystem::exists(root / ".c0ffee@eth0.json.tmp.longer1"));
}

TEST(StateStore, BestEffortLockOnAnUnwritableDirectory) {
    const ScratchDir root;
    // A regular file where the directory should be: nothing can be created below it.
    testutil::write_file(root / "file", "", 0600);
    const StateStore store(root / "file/state");
    EXPECT_THROW(store.lock(sample_key()), cni::Error);
    EXPECT_FALSE(store.lock(sample_key(), LockMode::BestEffort).valid());
    EXPECT_FALSE(store.load(sample_key()));
}

}  // namespace
}  // namespace splitnet::store
