// post_event against tests/testutil/fake_apiserver.py (TLS, real REST paths, the API server's
// core/v1 Event validation). Needs python3 and the openssl CLI, no root.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/events.hpp"
#include "splitnet/k8s/k8s.hpp"
#include "testutil/fake_apiserver.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::k8s {
namespace {

using nlohmann::json;
using testutil::error_of;
using testutil::FakeApiServer;
namespace fs = std::filesystem;

config::MetaConf events_conf_for(const FakeApiServer& server) {
    config::MetaConf conf;
    conf.kubeconfig = server.write_kubeconfig("splitnet-test-token");
    conf.api_timeout = std::chrono::seconds(60);
    return conf;
}

std::vector<json> stored_events(const FakeApiServer& server, const std::string& ns) {
    std::vector<json> out;
    const fs::path dir = server.scratch().path() + "/data/events/" + ns;
    if (fs::exists(dir)) {
        for (const auto& entry : fs::directory_iterator(dir)) {
            std::ifstream in(entry.path());
            out.push_back(json::parse(in));
        }
    }
    return out;
}

std::vector<json> posts(const FakeApiServer& server) {
    std::vector<json> out;
    for (const auto& r : server.requests()) {
        if (r.value("method", "") == "POST") {
            out.push_back(r);
        }
    }
    return out;
}

// Functions, not globals: a std::string built before main could throw where nothing catches it.
EventPod test_pod() {
    return {"media", "unifi-0", "uid-1"};
}

EventSpec added_event() {
    return {EventType::Normal, "AddedInterface", "ADD",
            "Add net1 [192.168.99.99/24] from media/unifi-vpn"};
}

TEST(EventsApi, PostedOverTheSameConnectionAsTheOtherCalls) {
    FakeApiServer server;
    auto client = make_client(events_conf_for(server));
    EXPECT_EQ(client->get(pod_path("media", "unifi-0")).status, 404U);
    post_event(*client, test_pod(), added_event(), "node-a");
    post_event(*client, test_pod(), added_event(), "node-a");
    EXPECT_EQ(client->handshake_count(), 1U);
    const auto sent = posts(server);
    ASSERT_EQ(sent.size(), 2U);
    for (const auto& r : sent) {
        EXPECT_EQ(r["path"], "/api/v1/namespaces/media/events");
        EXPECT_EQ(r["status"], 201);
        EXPECT_EQ(r["conn"], 1);
    }
    // The server's validation accepted both; each has a name of its own.
    const auto events = stored_events(server, "media");
    ASSERT_EQ(events.size(), 2U);
    EXPECT_NE(events[0]["metadata"]["name"], events[1]["metadata"]["name"]);
    for (const auto& e : events) {
        EXPECT_EQ(e["message"], added_event().message);
        EXPECT_EQ(e["involvedObject"]["uid"], "uid-1");
        EXPECT_EQ(e["reportingInstance"], "node-a");
    }
}

TEST(EventsApi, ForbiddenThrowsNamingTheMissingGrant) {
    FakeApiServer server;
    const json forbidden = {{"status", 403}, {"count", 5}, {"match", "/events"}};
    server.set_control({{"faults", json::array({forbidden})}});
    auto client = make_client(events_conf_for(server));
    const auto message =
        error_of([&] { post_event(*client, test_pod(), added_event(), "node-a"); });
    EXPECT_NE(message.find("403"), std::string::npos) << message;
    EXPECT_NE(message.find("create on events"), std::string::npos) << message;
    EXPECT_EQ(posts(server).size(), 1U);  // 403 is not retried
}

TEST(EventsApi, RefusedByValidationThrows) {
    FakeApiServer server;
    auto client = make_client(events_conf_for(server));
    // No node name: the API server requires reportingInstance when eventTime is set.
    const auto message = error_of([&] { post_event(*client, test_pod(), added_event(), ""); });
    EXPECT_NE(message.find("reportingInstance"), std::string::npos) << message;
    EXPECT_TRUE(stored_events(server, "media").empty());
}

TEST(EventsApi, InvalidPodReferenceIsRefusedBeforeAnyRequest) {
    FakeApiServer server;
    auto client = make_client(events_conf_for(server));
    EXPECT_THROW(post_event(*client, {"../x", "p", ""}, added_event(), "n"), cni::Error);
    EXPECT_THROW(post_event(*client, {"media", "P/../x", ""}, added_event(), "n"), cni::Error);
    EXPECT_EQ(client->request_count(), 0U);
}

// What NoNetworkFound is based on: resolve_delegates names the NAD of the annotations it could
// not read, and only that (a NAD that exists but is unusable is another failure).
TEST(EventsApi, ResolverNamesTheNadItCouldNotRead) {
    FakeApiServer server;
    auto conf = events_conf_for(server);
    conf.delegates = {json::parse(R"({"cniVersion":"1.0.0","name":"cbr0","type":"bridge"})")};
    auto client = make_client(conf);
    const auto* const config = R"({"cniVersion":"1.0.0","name":"x","type":"macvlan"})";
    server.put_nad("media", "net-a",
                   {{"apiVersion", "k8s.cni.cncf.io/v1"},
                    {"kind", "NetworkAttachmentDefinition"},
                    {"metadata", {{"name", "net-a"}, {"namespace", "media"}}},
                    {"spec", {{"config", config}}}});
    PodInfo pod{"media", "p", "u", {{"k8s.v1.cni.cncf.io/networks", "net-a, net-gone"}}, false};
    std::optional<MissingNetwork> missing;
    EXPECT_THROW(resolve_delegates(conf, client.get(), pod, &missing), cni::Error);
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->namespace_, "media");
    EXPECT_EQ(missing->name, "net-gone");
    EXPECT_EQ(missing->error,
              R"(network-attachment-definitions.k8s.cni.cncf.io "net-gone" not found)");

    // A NAD that is there but whose config is refused: not "no network found".
    server.put_nad("media", "net-broken",
                   {{"apiVersion", "k8s.cni.cncf.io/v1"},
                    {"kind", "NetworkAttachmentDefinition"},
                    {"metadata", {{"name", "net-broken"}, {"namespace", "media"}}},
                    {"spec", {{"config", "{not json"}}}});
    pod.annotations = {{"k8s.v1.cni.cncf.io/networks", "net-broken"}};
    missing.reset();
    EXPECT_THROW(resolve_delegates(conf, client.get(), pod, &missing), cni::Error);
    EXPECT_FALSE(missing.has_value());
}

// The server holds the POST for 50 s; apiTimeout (60 s) would wait for it, the call's own bound
// (300 ms) does not: post_event gives up while the server still holds the request, which it
// logs only once it answers.
TEST(EventsApi, OwnBoundStopsAHangingCallLongBeforeTheBudget) {
    FakeApiServer server;
    const json hang = {{"status", 201}, {"count", 1}, {"match", "/events"}, {"hang_ms", 50000}};
    server.set_control({{"faults", json::array({hang})}});
    auto client = make_client(events_conf_for(server));
    const auto message = error_of([&] {
        post_event(*client, test_pod(), added_event(), "node-a", std::chrono::milliseconds(300));
    });
    EXPECT_NE(message.find("POST"), std::string::npos) << message;
    EXPECT_EQ(message.find("raise apiTimeout"), std::string::npos) << message;
    EXPECT_TRUE(posts(server).empty()) << "post_event waited for the hanging server";
}

}  // namespace
}  // namespace splitnet::k8s
