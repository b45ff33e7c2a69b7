#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "testutil/scratch_dir.hpp"

namespace splitnet::testutil {

struct FakeApiServerOptions {
    std::string token = "splitnet-test-token";  ///< "" disables the bearer check
    bool no_listen = false;                     ///< connections are refused
    std::vector<std::string> extra_args;        ///< e.g. {"--fault", "503:2"}
};

/// tests/testutil/fake_apiserver.py run as a child process; ready when it printed its port.
class FakeApiServer {
public:
    explicit FakeApiServer(FakeApiServerOptions options = {});
    ~FakeApiServer();
    FakeApiServer(const FakeApiServer&) = delete;
    FakeApiServer& operator=(const FakeApiServer&) = delete;
    FakeApiServer(FakeApiServer&&) = delete;  // owns a child process and its temp dir
    FakeApiServer& operator=(FakeApiServer&&) = delete;

    void put_pod(const std::string& ns, const std::string& name, const nlohmann::json& pod) const;
    void put_nad(const std::string& ns, const std::string& name, const nlohmann::json& nad) const;
    [[nodiscard]] nlohmann::json read_pod(const std::string& ns, const std::string& name) const;
    /// Replaces the control file (faults, delay_ms, close_after_response).
    void set_control(const nlohmann::json& control) const;

    /// Request entries (method, path, body, status, conn, auth, accept) in arrival order.
    [[nodiscard]] std::vector<nlohmann::json> requests() const;
    [[nodiscard]] unsigned handshakes() const;

    /// A kubeconfig for this server (CA file, bearer token) written into the scratch dir.
    [[nodiscard]] std::string write_kubeconfig(const std::string& token) const;

    [[nodiscard]] int port() const { return port_; }

    [[nodiscard]] const std::string& ca_path() const { return ca_; }

    [[nodiscard]] const std::string& client_cert_path() const { return client_cert_; }

    [[nodiscard]] const std::string& client_key_path() const { return client_key_; }

    [[nodiscard]] const ScratchDir& scratch() const { return scratch_; }

    [[nodiscard]] std::string server_url() const;

private:
    [[nodiscard]] std::vector<nlohmann::json> log_entries() const;

    ScratchDir scratch_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string ca_;
    std::string client_cert_;
    std::string client_key_;
};

}  // namespace splitnet::testutil
