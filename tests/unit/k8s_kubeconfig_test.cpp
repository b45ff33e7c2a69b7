#include <map>
#include <string_view>

#include <gtest/gtest.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/kubeconfig.hpp"
#include "testutil/fake_apiserver.hpp"
#include "testutil/thrown.hpp"

namespace splitnet::k8s {
namespace {

using testutil::error_of;

std::string b64(const std::string& in) {
    static constexpr std::string_view kA =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buf = (buf << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kA[(buf >> bits) & 0x3F];
        }
    }
    if (bits > 0) {
        out += kA[(buf << (6 - bits)) & 0x3F];
    }
    while (out.size() % 4 != 0) {
        out += '=';
    }
    return out;
}

// The shape Multus' thin entrypoint writes (its `--multus-kubeconfig-file-host` file), plus a
// second unused context.
std::string multus_kubeconfig(const std::string& extra_cluster, const std::string& user) {
    return "apiVersion: v1\nkind: Config\nclusters:\n"
           "- name: other\n  cluster:\n    server: https://203.0.113.9:6443\n"
           "- name: local\n  cluster:\n    server: https://[2001:db8::1]:6443/prefix/\n" +
           extra_cluster + "users:\n- name: multus\n  user:\n" + user +
           "contexts:\n- name: wrong\n  context:\n    cluster: other\n    user: multus\n"
           "- name: multus-context\n  context:\n    cluster: local\n    user: multus\n"
           "current-context: multus-context\n";
}

TEST(Kubeconfig, CurrentContextWithInlineData) {
    const auto access = parse_kubeconfig(
        multus_kubeconfig("    certificate-authority-data: " + b64("CA-PEM") + "\n",
                          "    token: abc.def\n    client-certificate-data: " + b64("CERT") +
                              "\n    client-key-data: " + b64("KEY") + "\n"),
        "/nonexistent");
    EXPECT_EQ(access.host, "2001:db8::1");
    EXPECT_EQ(access.port, "6443");
    EXPECT_EQ(access.path_prefix, "/prefix");
    EXPECT_EQ(access.server(), "https://[2001:db8::1]:6443/prefix");
    EXPECT_EQ(access.ca_pem, "CA-PEM");
    EXPECT_EQ(access.token, "abc.def");
    EXPECT_EQ(access.client_cert_pem, "CERT");
    EXPECT_EQ(access.client_key_pem, "KEY");
    EXPECT_FALSE(access.insecure_skip_tls_verify);
}

TEST(Kubeconfig, FilesResolvedRelativeToTheKubeconfig) {
    testutil::ScratchDir dir;
    dir.write("ca.crt", "FILE-CA");
    dir.write("token", "file-token\n");
    dir.write("c.crt", "FILE-CERT");
    dir.write("c.key", "FILE-KEY");
    const auto path =
        dir.write("multus.d/multus.kubeconfig",
                  multus_kubeconfig(
                      "    certificate-authority: ../ca.crt\n    insecure-skip-tls-verify: false\n",
                      "    token: overridden\n    tokenFile: ../token\n"
                      "    client-certificate: " +
                          dir.path() + "/c.crt\n    client-key: ../c.key\n"));
    const auto access = load_kubeconfig(path);
    EXPECT_EQ(access.ca_pem, "FILE-CA");
    EXPECT_EQ(access.token, "file-token");  // tokenFile wins, newline trimmed
    EXPECT_EQ(access.client_cert_pem, "FILE-CERT");
    EXPECT_EQ(access.client_key_pem, "FILE-KEY");
    EXPECT_FALSE(access.insecure_skip_tls_verify);
}

TEST(Kubeconfig, InsecureOnlyWhenTrue) {
    auto access = parse_kubeconfig(
        multus_kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n"), "");
    EXPECT_TRUE(access.insecure_skip_tls_verify);
}

TEST(Kubeconfig, Errors) {
    auto message = [](const std::string& yaml) -> std::string {
        try {
            parse_kubeconfig(yaml, "");
        } catch (const cni::Error& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_NE(message("clusters: []\ncurrent-context: x\n").find("context \"x\""),
              std::string::npos);
    EXPECT_NE(message("{a: [").find("invalid YAML"), std::string::npos);
    const std::string http =
        "clusters:\n- name: c\n  cluster:\n    server: http://192.0.2.1:8080\n"
        "contexts:\n- name: x\n  context:\n    cluster: c\ncurrent-context: x\n";
    EXPECT_NE(message(http).find("plain http"), std::string::npos);
    const std::string exec_user =
        "clusters:\n- name: c\n  cluster:\n    server: https://192.0.2.1\n"
        "users:\n- name: u\n  user:\n    exec:\n      command: aws\n"
        "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n";
    EXPECT_NE(message(exec_user).find("exec/auth-provider"), std::string::npos);
    EXPECT_THROW(load_kubeconfig("/nonexistent/kubeconfig"), cni::Error);
}

TEST(Kubeconfig, ServerUrlDefaultsPort) {
    ClusterAccess a;
    parse_server_url("https://api.example.test", a);
    EXPECT_EQ(a.host, "api.example.test");
    EXPECT_EQ(a.port, "443");
    EXPECT_THROW(parse_server_url("ftp://x", a), cni::Error);
}

// The port used to be truncated to 16 bits (102315 connected to 36779).
TEST(Kubeconfig, PortMustBeANumberFrom1To65535) {
    ClusterAccess a;
    parse_server_url("https://api.example.test:65535", a);
    EXPECT_EQ(a.port, "65535");
    parse_server_url("https://[2001:db8::1]:1/x", a);
    EXPECT_EQ(a.port, "1");
    for (const std::string url :
         {"https://api.example.test:102315", "https://api.example.test:65536",
          "https://api.example.test:0", "https://api.example.test:", "https://[2001:db8::1]:",
          "https://[2001:db8::1]:70000", "https://api.example.test:99999999999999999999",
          "https://api.example.test:-1", "https://api.example.test:+443"}) {
        const auto message = error_of([&] { parse_server_url(url, a); });
        EXPECT_NE(message.find("not a number from 1 to 65535"), std::string::npos)
            << url << ": " << message;
    }
    const auto yaml = multus_kubeconfig("", "    token: t\n");
    const auto at = yaml.find("[2001:db8::1]:6443");
    ASSERT_NE(at, std::string::npos);
    auto bad_port = yaml;
    bad_port.replace(at, std::string("[2001:db8::1]:6443").size(), "[2001:db8::1]:102315");
    EXPECT_NE(error_of([&] { parse_kubeconfig(bad_port, ""); }).find("102315"), std::string::npos);
}

// client-go: "specifying a root certificates file with the insecure flag is not allowed".
TEST(Kubeconfig, InsecureTogetherWithACertificateAuthorityIsRefused) {
    for (const std::string& ca :
         {"    certificate-authority-data: " + b64("CA-PEM") + "\n",
          std::string("    certificate-authority: /nonexistent/ca.crt\n")}) {
        const auto message = error_of([&] {
            parse_kubeconfig(
                multus_kubeconfig("    insecure-skip-tls-verify: true\n" + ca, "    token: t\n"),
                "");
        });
        EXPECT_NE(message.find("insecure-skip-tls-verify together with a certificate authority"),
                  std::string::npos)
            << message;
    }
}

TEST(Kubeconfig, InCluster) {
    testutil::ScratchDir dir;
    dir.write("token", "sa-token\n");
    dir.write("ca.crt", "SA-CA");
    std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                              {"KUBERNETES_SERVICE_PORT", "443"}};
    const cni::Getenv getenv = [&](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(std::string(name));
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    ASSERT_TRUE(in_cluster_available(getenv));
    const auto access = in_cluster_access(getenv, dir.path());
    EXPECT_EQ(access.server(), "https://10.96.0.1:443");
    EXPECT_EQ(access.token, "sa-token");
    EXPECT_EQ(access.ca_pem, "SA-CA");
    env["KUBERNETES_SERVICE_PORT"] = "102315";
    EXPECT_NE(error_of([&] { in_cluster_access(getenv, dir.path()); }).find("102315"),
              std::string::npos);
    env.erase("KUBERNETES_SERVICE_PORT");
    EXPECT_FALSE(in_cluster_available(getenv));
}

}  // namespace
}  // namespace splitnet::k8s
