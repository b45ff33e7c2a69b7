// Integration tests of the k8s module against tests/testutil/fake_apiserver.py (TLS, real REST
// paths). They need python3 and the openssl CLI, no root.
#include <chrono>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/k8s.hpp"
#include "testutil/fake_apiserver.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::k8s {
namespace {

using nlohmann::json;
using testutil::error_of;
using testutil::FakeApiServer;
using testutil::FakeApiServerOptions;

constexpr const char* kToken = "splitnet-test-token";

json pod_object(const std::string& ns, const std::string& name, const std::string& uid,
                json annotations) {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"namespace", ns},
              {"uid", uid},
              {"resourceVersion", "7"},
              {"annotations", std::move(annotations)}}},
            {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "x"}}})}}},
            {"status", {{"phase", "Pending"}}}};
}

json nad_object(const std::string& ns, const std::string& name, const std::string& config) {
    return {{"apiVersion", "k8s.cni.cncf.io/v1"},
            {"kind", "NetworkAttachmentDefinition"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", {{"config", config}}}};
}

config::MetaConf conf_for(const FakeApiServer& server, const std::string& token = kToken) {
    config::MetaConf conf;
    conf.kubeconfig = server.write_kubeconfig(token);
    conf.delegates = {json::parse(R"({"cniVersion":"1.0.0","name":"cbr0","type":"bridge"})")};
    conf.conf_dir = server.scratch().path() + "/confdir";
    conf.api_timeout = std::chrono::milliseconds(5000);
    return conf;
}

plan::PodRef ref_of(const std::string& ns, const std::string& name, const std::string& uid) {
    return plan::PodRef{ns, name, uid, "infra"};
}

// The user-doc network (NAD unifi-vpn in media) plus a NAD with an empty spec.config resolved
// from confDir: exactly 1 pod GET + 1 GET per NAD + GET/PUT of the status, over ONE handshake.
TEST(K8sApi, AddFlowRequestCountAndOneHandshake) {
    FakeApiServer server;
    server.put_pod(
        "media", "sonarr",
        pod_object(
            "media", "sonarr", "uid-1",
            {{"k8s.v1.cni.cncf.io/networks",
              R"([{"name":"unifi-vpn","ips":["192.0.2.50/24"],"mac":"c2:b0:57:49:47:f1"},{"name":"from-file","interface":"lan0"}])"}}));
    server.put_nad(
        "media", "unifi-vpn",
        nad_object(
            "media", "unifi-vpn",
            R"({"cniVersion":"1.0.0","type":"macvlan","master":"eth1","mode":"bridge","ipam":{"type":"static"}})"));
    server.put_nad("media", "from-file", nad_object("media", "from-file", ""));
    server.scratch().write(
        "confdir/50-file.conf",
        R"({"cniVersion":"1.0.0","name":"from-file","type":"macvlan","master":"eth2"})");

    const auto conf = conf_for(server);
    auto client = make_client(conf);
    ASSERT_NE(client, nullptr);
    const auto ref = ref_of("media", "sonarr", "uid-1");
    const auto pod = get_pod(client.get(), conf, ref);
    ASSERT_TRUE(pod.has_value());
    EXPECT_FALSE(pod->from_runtime);
    EXPECT_EQ(pod->uid, "uid-1");

    const auto specs = resolve_delegates(conf, client.get(), pod);
    ASSERT_EQ(specs.size(), 3U);
    EXPECT_EQ(specs[1].name, "media/unifi-vpn");
    EXPECT_EQ(json::parse(specs[1].config)["name"], "unifi-vpn");  // injected
    ASSERT_TRUE(specs[1].selection.has_value());
    EXPECT_EQ(specs[1].selection->ips, std::vector<std::string>{"192.0.2.50/24"});
    EXPECT_EQ(specs[1].selection->mac, "c2:b0:57:49:47:f1");
    EXPECT_EQ(specs[2].name, "media/from-file");
    EXPECT_EQ(json::parse(specs[2].config)["master"], "eth2");
    EXPECT_EQ(specs[2].selection->interface, "lan0");

    const auto value = network_status_value(
        {{"cbr0", "eth0", true, json::parse(R"({"interfaces":[{"name":"eth0","sandbox":"/ns"}],
            "ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1","interface":0}]})")},
         {"media/unifi-vpn", "net1", false, json::parse(R"({"interfaces":[{"name":"net1",
            "mac":"c2:b0:57:49:47:f1","sandbox":"/ns"}],"ips":[{"address":"192.0.2.50/24","interface":0}]})")}});
    write_network_status(*client, ref, value);

    const auto stored = server.read_pod("media", "sonarr");
    EXPECT_EQ(stored["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"], value);
    EXPECT_EQ(stored["metadata"]["resourceVersion"], "8");
    EXPECT_EQ(
        stored["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"].get<std::string>().substr(
            0, 1),
        "[");

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 5U);
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"GET", "/api/v1/namespaces/media/pods/sonarr"},
        {"GET",
         "/apis/k8s.cni.cncf.io/v1/namespaces/media/network-attachment-definitions/unifi-vpn"},
        {"GET",
         "/apis/k8s.cni.cncf.io/v1/namespaces/media/network-attachment-definitions/from-file"},
        {"GET", "/api/v1/namespaces/media/pods/sonarr"},
        {"PUT", "/api/v1/namespaces/media/pods/sonarr/status"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(requests[i]["method"], expected[i].first);
        EXPECT_EQ(requests[i]["path"], expected[i].second);
        EXPECT_EQ(requests[i]["auth"], std::string("Bearer ") + kToken);
        EXPECT_EQ(requests[i]["accept"], "application/json");
    }
    // The PUT carries the full pod with its resourceVersion (update, not patch).
    const auto put_body = json::parse(requests[4]["body"].get<std::string>());
    EXPECT_EQ(put_body["metadata"]["resourceVersion"], "7");
    EXPECT_EQ(put_body["spec"]["containers"][0]["name"], "app");
    EXPECT_EQ(server.handshakes(), 1U);
    EXPECT_EQ(client->handshake_count(), 1U);
    EXPECT_EQ(client->request_count(), 5U);
}

TEST(K8sApi, NotFoundPodAndNad) {
    FakeApiServer server;
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    EXPECT_FALSE(get_pod(client.get(), conf, ref_of("media", "gone", "")).has_value());
    const auto pod =
        PodInfo{"media", "p", "u", {{"k8s.v1.cni.cncf.io/networks", "missing-net"}}, false};
    EXPECT_EQ(
        error_of([&] { resolve_delegates(conf, client.get(), pod); }),
        "GetNetworkDelegates: failed getting the delegate: getKubernetesDelegate: cannot find "
        "a network-attachment-definition (missing-net) in namespace (media): "
        "network-attachment-definitions.k8s.cni.cncf.io \"missing-net\" not found");
    // Writing the status of a deleted pod is tolerated.
    EXPECT_NO_THROW(write_network_status(*client, ref_of("media", "gone", ""), "[{}]"));
}

TEST(K8sApi, WrongTokenAndForbiddenNameTheFix) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    const auto conf = conf_for(server, "wrong-token");
    auto client = make_client(conf);
    const auto unauthorized =
        error_of([&] { get_pod(client.get(), conf, ref_of("media", "p", "u")); });
    EXPECT_NE(unauthorized.find("401 Unauthorized"), std::string::npos) << unauthorized;
    EXPECT_NE(unauthorized.find("invalid or expired"), std::string::npos);

    server.set_control({{"faults", {{{"status", 403}, {"count", 1}}}}});
    const auto good = conf_for(server);
    auto client2 = make_client(good);
    const auto forbidden =
        error_of([&] { get_pod(client2.get(), good, ref_of("media", "p", "u")); });
    EXPECT_NE(forbidden.find("403 Forbidden"), std::string::npos) << forbidden;
    EXPECT_NE(forbidden.find("RBAC"), std::string::npos);
}

TEST(K8sApi, RetriesOn503And500ThenSucceeds) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    server.set_control(
        {{"faults", {{{"status", 503}, {"count", 2}}, {{"status", 500}, {"count", 1}}}}});
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    const auto pod = get_pod(client.get(), conf, ref_of("media", "p", "u"));
    ASSERT_TRUE(pod.has_value());
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 4U);
    EXPECT_EQ(requests[0]["status"], 503);
    EXPECT_EQ(requests[1]["status"], 503);
    EXPECT_EQ(requests[2]["status"], 500);
    EXPECT_EQ(requests[3]["status"], 200);
    EXPECT_EQ(server.handshakes(), 1U);  // retries reuse the kept-alive connection
}

TEST(K8sApi, PersistentFailureStopsAtTheBudget) {
    FakeApiServer server;
    server.set_control({{"faults", {{{"status", 503}, {"count", 1000}}}}});
    auto conf = conf_for(server);
    conf.api_timeout = std::chrono::milliseconds(800);
    auto client = make_client(conf);
    const auto start = std::chrono::steady_clock::now();
    const auto message = error_of([&] { get_pod(client.get(), conf, ref_of("media", "p", "u")); });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_NE(message.find("apiTimeout"), std::string::npos) << message;
    EXPECT_NE(message.find("HTTP 503"), std::string::npos) << message;
    // Bounded by the budget (plus slack for a loaded CI machine), not by the 1000 faults.
    EXPECT_LT(elapsed, std::chrono::milliseconds(800 + 2000));
    EXPECT_GE(server.requests().size(), 3U);
}

// A huge Retry-After made std::stoll throw (std::out_of_range, not a CNI error) or
// overflowed the multiplication; now any size just means "as long as the budget allows".
TEST(K8sApi, HugeRetryAfterIsClampedToTheBudget) {
    for (const std::string retry_after : {"99999999999999999999999", "9223372036854775807"}) {
        FakeApiServer server;
        server.set_control(
            {{"faults", {{{"status", 503}, {"count", 1000}}}}, {"retry_after", retry_after}});
        auto conf = conf_for(server);
        conf.api_timeout = std::chrono::milliseconds(800);
        auto client = make_client(conf);
        const auto error = testutil::thrown<cni::Error>(
            [&] { get_pod(client.get(), conf, ref_of("media", "p", "u")); });
        ASSERT_TRUE(error) << retry_after;
        EXPECT_EQ(error->code(), static_cast<unsigned>(cni::ErrorCode::TryAgainLater));
        EXPECT_NE(error->msg().find("apiTimeout"), std::string::npos) << error->msg();
        EXPECT_NE(error->msg().find("HTTP 503"), std::string::npos) << error->msg();
    }
}

TEST(K8sApi, RetryAfterIsDeltaSecondsCappedByTheBudget) {
    using std::chrono::milliseconds;
    const milliseconds cap(10000);
    EXPECT_EQ(parse_retry_after("2", cap), milliseconds(2000));
    EXPECT_EQ(parse_retry_after("0", cap), milliseconds(0));
    EXPECT_EQ(parse_retry_after("2", milliseconds(500)), milliseconds(500));
    EXPECT_EQ(parse_retry_after("99999999999999999999", milliseconds(700)), milliseconds(700));
    EXPECT_EQ(parse_retry_after("18446744073709551", milliseconds(700)), milliseconds(700));
    for (const std::string ignored :
         {"", "abc", "-1", "+5", " 5", "5 ", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT"}) {
        EXPECT_EQ(parse_retry_after(ignored, cap), milliseconds(0)) << ignored;
    }
    EXPECT_EQ(parse_retry_after("5", milliseconds(0)), milliseconds(0));
}

TEST(K8sApi, RefusedConnectionIsBoundedByApiTimeout) {
    FakeApiServer server(FakeApiServerOptions{kToken, true, {}});
    auto conf = conf_for(server);
    conf.api_timeout = std::chrono::milliseconds(700);
    auto client = make_client(conf);
    const auto start = std::chrono::steady_clock::now();
    cni::Error caught(cni::ErrorCode::Unknown, "none");
    try {
        get_pod(client.get(), conf, ref_of("media", "p", "u"));
    } catch (const cni::Error& e) {
        caught = e;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(caught.code(), static_cast<unsigned>(cni::ErrorCode::TryAgainLater));
    EXPECT_NE(caught.msg().find("onnection refused"), std::string::npos) << caught.msg();
    EXPECT_GE(elapsed, std::chrono::milliseconds(600));  // it did retry with backoff
    EXPECT_LT(elapsed, std::chrono::milliseconds(700 + 2000));
    EXPECT_EQ(client->handshake_count(), 0U);
}

TEST(K8sApi, SlowServerTimesOutWithinBudget) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    server.set_control({{"delay_ms", 6000}});
    auto conf = conf_for(server);
    conf.api_timeout = std::chrono::milliseconds(500);
    auto client = make_client(conf);
    const auto start = std::chrono::steady_clock::now();
    const auto message = error_of([&] { get_pod(client.get(), conf, ref_of("media", "p", "u")); });
    EXPECT_NE(message.find("timed out"), std::string::npos) << message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500 + 2500));
}

TEST(K8sApi, StatusPutRetriesOnConflict) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    server.set_control({{"faults", {{{"status", 409}, {"count", 2}, {"match", "/status"}}}}});
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    write_network_status(*client, ref_of("media", "p", "u"), R"([{"name": "x"}])");
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 6U);
    for (std::size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(requests[i]["method"], i % 2 == 0 ? "GET" : "PUT");
    }
    EXPECT_EQ(requests[5]["status"], 200);
    EXPECT_EQ(server.read_pod("media",
                              "p")["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"],
              R"([{"name": "x"}])");
}

TEST(K8sApi, StaleResourceVersionGetsConflictFromServer) {
    // The fixture's own 409: a PUT with an old resourceVersion is refused.
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    auto stale = pod_object("media", "p", "u", json::object());
    stale["metadata"]["resourceVersion"] = "3";
    EXPECT_EQ(client->put(pod_status_path("media", "p"), stale).status, 409U);
}

TEST(K8sApi, UidMismatchUnlessStatic) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "new-uid", json::object()));
    server.put_pod(
        "kube-system", "etcd",
        pod_object("kube-system", "etcd", "mirror-uid", {{"kubernetes.io/config.source", "file"}}));
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    EXPECT_EQ(error_of([&] { get_pod(client.get(), conf, ref_of("media", "p", "old-uid")); }),
              R"(expected pod UID "old-uid" but got "new-uid" from Kube API)");
    EXPECT_TRUE(
        get_pod(client.get(), conf, ref_of("kube-system", "etcd", "static-uid")).has_value());
    EXPECT_NE(error_of([&] {
                  write_network_status(*client, ref_of("media", "p", "old-uid"), "[{}]");
              }).find("UID"),
              std::string::npos);
}

TEST(K8sApi, RuntimeAnnotationsSkipThePodGet) {
    FakeApiServer server;
    server.put_nad("media", "unifi-vpn",
                   nad_object("media", "unifi-vpn", R"({"type":"macvlan","name":"vpn"})"));
    auto conf = conf_for(server);
    conf.runtime_config = {{"io.kubernetes.cri.pod-annotations",
                            {{"k8s.v1.cni.cncf.io/networks", "unifi-vpn"}, {"n", 5}}}};
    auto client = make_client(conf);
    const auto pod = get_pod(client.get(), conf, ref_of("media", "p", "u"));
    ASSERT_TRUE(pod.has_value());
    EXPECT_TRUE(pod->from_runtime);
    EXPECT_FALSE(pod->annotations.contains("n"));  // only string values
    EXPECT_EQ(resolve_delegates(conf, client.get(), pod).size(), 2U);
    ASSERT_EQ(server.requests().size(), 1U);  // only the NAD
    EXPECT_NE(
        server.requests()[0]["path"].get<std::string>().find("network-attachment-definitions"),
        std::string::npos);
}

TEST(K8sApi, DefaultNetworkAnnotationReplacesPrimary) {
    FakeApiServer server;
    server.put_nad("kube-system", "calico",
                   nad_object("kube-system", "calico", R"({"type":"calico"})"));
    auto conf = conf_for(server);
    auto client = make_client(conf);
    const auto pod =
        PodInfo{"media", "p", "u", {{"v1.multus-cni.io/default-network", "calico@eth9"}}, false};
    const auto specs = resolve_delegates(conf, client.get(), pod);
    ASSERT_EQ(specs.size(), 1U);
    EXPECT_EQ(specs[0].name, "kube-system/calico");
    EXPECT_TRUE(specs[0].is_primary);
    EXPECT_EQ(specs[0].selection->interface, "eth9");
    const auto two =
        PodInfo{"media", "p", "u", {{"v1.multus-cni.io/default-network", "a,b"}}, false};
    EXPECT_NE(error_of([&] {
                  resolve_delegates(conf, client.get(), two);
              }).find("more than one default network is specified"),
              std::string::npos);
}

TEST(K8sApi, ClusterNetworkAsNadThenFile) {
    FakeApiServer server;
    server.put_nad("kube-system", "cilium",
                   nad_object("kube-system", "cilium",
                              R"({"name":"cilium","plugins":[{"type":"cilium-cni"}]})"));
    server.scratch().write("confdir/10-flannel.conf", R"({"name":"flannel","type":"flannel"})");
    auto conf = conf_for(server);
    auto client = make_client(conf);
    conf.cluster_network = "cilium";
    EXPECT_EQ(resolve_delegates(conf, client.get(), std::nullopt)[0].name, "kube-system/cilium");
    conf.cluster_network = "flannel";  // NAD 404 -> confDir file by name
    EXPECT_EQ(resolve_delegates(conf, client.get(), std::nullopt)[0].name, "flannel");
}

TEST(K8sApi, PathTraversalNamesNeverReachTheServer) {
    FakeApiServer server;
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    const auto pod =
        PodInfo{"media",
                "p",
                "u",
                {{"k8s.v1.cni.cncf.io/networks", R"([{"name":"../../../api/v1/secrets"}])"}},
                false};
    EXPECT_NE(error_of([&] { resolve_delegates(conf, client.get(), pod); }).find("DNS-1123"),
              std::string::npos);
    EXPECT_TRUE(server.requests().empty());
}

TEST(K8sApi, ReconnectsWhenTheServerClosesTheConnection) {
    FakeApiServer server;
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    server.set_control({{"close_after_response", true}});
    const auto conf = conf_for(server);
    auto client = make_client(conf);
    ASSERT_TRUE(get_pod(client.get(), conf, ref_of("media", "p", "u")).has_value());
    ASSERT_TRUE(get_pod(client.get(), conf, ref_of("media", "p", "u")).has_value());
    EXPECT_EQ(server.handshakes(), 2U);
    EXPECT_EQ(client->request_count(), 2U);
}

TEST(K8sApi, ClientCertificateAuthAndHostnameVerification) {
    FakeApiServer server(FakeApiServerOptions{"", false, {"--require-client-cert"}});
    server.put_pod("media", "p", pod_object("media", "p", "u", json::object()));
    const std::string base = "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: " +
                             std::string("https://localhost:") + std::to_string(server.port()) +
                             "\n    certificate-authority: " + server.ca_path() + "\n";
    const std::string rest =
        "users:\n- name: u\n  user:\n    client-certificate: " + server.client_cert_path() +
        "\n    client-key: " + server.client_key_path() +
        "\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
        "current-context: x\n";
    config::MetaConf conf;
    conf.kubeconfig = server.scratch().write("cert.kubeconfig", base + rest);
    auto client = make_client(conf);
    EXPECT_TRUE(get_pod(client.get(), conf, ref_of("media", "p", "u")).has_value());

    // The certificate has no SAN for this name: the handshake must fail, nothing is sent.
    conf.kubeconfig = server.scratch().write("wrong.kubeconfig",
                                             base + "    tls-server-name: wrong.example\n" + rest);
    auto wrong = make_client(conf);
    const auto message = error_of([&] { get_pod(wrong.get(), conf, ref_of("media", "p", "u")); });
    EXPECT_NE(message.find("certificate"), std::string::npos) << message;
    EXPECT_EQ(server.requests().size(), 1U);
}

TEST(K8sApi, NoKubeconfigNoInClusterMeansNoClient) {
    config::MetaConf conf;
    const cni::Getenv no_env = [](std::string_view) { return std::optional<std::string>(); };
    EXPECT_EQ(make_client(conf, no_env, "/nonexistent"), nullptr);
    EXPECT_FALSE(get_pod(nullptr, conf, ref_of("media", "p", "u")).has_value());
}

}  // namespace
}  // namespace splitnet::k8s
