#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace splitnet::k8s {

struct TlsSettings {
    std::string ca_pem;  ///< empty: system trust store
    bool insecure_skip_verify = false;
    std::string server_name;  ///< name (or IP) checked against the certificate SANs
    std::string client_cert_pem;
    std::string client_key_pem;
};

struct HttpResponse {
    unsigned status = 0;
    std::string body;
    std::string retry_after;  ///< Retry-After header, if any
};

enum class TransportFailure { None, Refused, Reset, Timeout, Tls, Resolve, Other };

/// A response, or why there is none (expected outcomes are values; the caller decides on retry).
struct HttpOutcome {
    std::optional<HttpResponse> response;
    TransportFailure failure = TransportFailure::None;
    std::string error;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One keep-alive HTTPS/1.1 connection (Boost.Beast over OpenSSL), opened lazily and reopened
/// once when the server closed an idle connection. Single-threaded, blocking with deadlines.
class HttpsConnection {
public:
    /// Throws cni::Error when the CA/client certificate material cannot be loaded.
    HttpsConnection(std::string host, std::string port, TlsSettings tls);
    ~HttpsConnection();
    HttpsConnection(const HttpsConnection&) = delete;
    HttpsConnection& operator=(const HttpsConnection&) = delete;
    HttpsConnection(HttpsConnection&&) = delete;
    HttpsConnection& operator=(HttpsConnection&&) = delete;

    /// Sends one request and reads the response; everything must finish before `deadline`.
    HttpOutcome exchange(std::string_view method, const std::string& target,
                         const HeaderList& headers, const std::string& body,
                         std::chrono::steady_clock::time_point deadline);

    [[nodiscard]] unsigned handshakes() const noexcept;
    [[nodiscard]] unsigned exchanges() const noexcept;

    void close() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace splitnet::k8s
