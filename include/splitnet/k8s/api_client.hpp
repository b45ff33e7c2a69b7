#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "splitnet/cni/request.hpp"
#include "splitnet/config/meta_conf.hpp"
#include "splitnet/k8s/kubeconfig.hpp"

namespace splitnet::k8s {

class HttpsConnection;

struct ApiOptions {
    /// Bound on the time spent in API calls (requests, retries and backoff) over the whole
    /// invocation; time spent elsewhere (delegates) does not count.
    std::chrono::milliseconds budget{std::chrono::seconds(10)};
    /// Bound on one request (connect + TLS + write + read); 0 = whatever budget is left.
    std::chrono::milliseconds request_timeout{0};
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{1000};
};

struct ApiResponse {
    unsigned status = 0;
    nlohmann::json body;  ///< null when the body is not JSON
};

/// Kubernetes REST over one keep-alive HTTPS connection. Retries 429/500/503, refused and reset
/// connections with exponential backoff inside the budget; 401/403 throw an error naming the fix.
/// Other statuses (404, 409, ...) are returned to the caller.
class ApiClient {
public:
    ApiClient(ClusterAccess access, ApiOptions options);
    ~ApiClient();
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;
    ApiClient(ApiClient&&) = delete;
    ApiClient& operator=(ApiClient&&) = delete;

    ApiResponse get(std::string_view path);
    ApiResponse put(std::string_view path, const nlohmann::json& body);
    /// `within`: a bound of its own for this call (retries included) inside the budget, for
    /// best-effort calls (Events) that must not use up what is left of it.
    ApiResponse post(std::string_view path, const nlohmann::json& body,
                     std::optional<std::chrono::milliseconds> within = std::nullopt);

    [[nodiscard]] unsigned request_count() const noexcept;    ///< completed HTTP exchanges
    [[nodiscard]] unsigned handshake_count() const noexcept;  ///< TLS handshakes (connections)
    [[nodiscard]] std::chrono::milliseconds budget_left() const noexcept;
    [[nodiscard]] std::string server() const;

private:
    ApiResponse call(std::string_view method, std::string_view path, const std::string& body,
                     std::optional<std::chrono::milliseconds> within = std::nullopt);

    ClusterAccess access_;
    ApiOptions options_;
    std::unique_ptr<HttpsConnection> connection_;
    std::chrono::steady_clock::duration spent_{};
};

/// The client for this invocation: kubeconfig when set, else in-cluster when
/// KUBERNETES_SERVICE_HOST/PORT are set, else nullptr (no API access, as Multus). The budget is
/// conf.api_timeout. Throws cni::Error when the kubeconfig is unreadable or invalid.
std::unique_ptr<ApiClient> make_client(const config::MetaConf& conf);
std::unique_ptr<ApiClient> make_client(const config::MetaConf& conf, const cni::Getenv& getenv,
                                       const std::string& sa_dir);

/// The JSON document of a response body; null when the body is not JSON.
nlohmann::json parse_response_body(std::string_view body);

/// Kubernetes Status message of an error response ("pods \"x\" not found"), or the HTTP status.
std::string status_message(const ApiResponse& response);

/// The wait a Retry-After header asks for: delta-seconds only (an HTTP date or anything else
/// gives 0, i.e. our own backoff), never more than `cap` (the API budget left), whatever its size.
std::chrono::milliseconds parse_retry_after(std::string_view header, std::chrono::milliseconds cap);

/// REST paths; names must already be valid DNS-1123 (see annotation.hpp).
std::string pod_path(std::string_view ns, std::string_view name);
std::string pod_status_path(std::string_view ns, std::string_view name);
std::string nad_path(std::string_view ns, std::string_view name);

}  // namespace splitnet::k8s
