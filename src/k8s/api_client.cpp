#include "splitnet/k8s/api_client.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/k8s/http_client.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::k8s {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

bool retryable_status(unsigned status) {
    return status == 429 || status == 500 || status == 503;
}

std::string base64_encode(std::string_view in) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (unsigned char c : in) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 0x3F];
        }
    }
    if (bits > 0) {
        out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
    }
    while (out.size() % 4 != 0) {
        out += '=';
    }
    return out;
}

}  // namespace

milliseconds parse_retry_after(std::string_view header, milliseconds cap) {
    // Only the delta-seconds form; an HTTP date (or garbage) falls back to our own backoff.
    std::uint64_t seconds = 0;
    const auto* end = header.data() + header.size();
    const auto [ptr, ec] = std::from_chars(header.data(), end, seconds);
    if (header.empty() || ptr != end ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        return milliseconds(0);
    }
    // Compared in seconds so that no multiplication can overflow; a huge value is just "wait as
    // long as the budget allows".
    const auto cap_seconds =
        static_cast<std::uint64_t>(std::max<std::int64_t>(cap.count(), 0)) / 1000U;
    if (ec == std::errc::result_out_of_range || seconds > cap_seconds) {
        return std::max(cap, milliseconds(0));
    }
    return milliseconds(static_cast<milliseconds::rep>(seconds * 1000U));
}

std::string pod_path(std::string_view ns, std::string_view name) {
    return "/api/v1/namespaces/" + std::string(ns) + "/pods/" + std::string(name);
}

std::string pod_status_path(std::string_view ns, std::string_view name) {
    return pod_path(ns, name) + "/status";
}

std::string nad_path(std::string_view ns, std::string_view name) {
    return "/apis/k8s.cni.cncf.io/v1/namespaces/" + std::string(ns) +
           "/network-attachment-definitions/" + std::string(name);
}

nlohmann::json parse_response_body(std::string_view body) {
    constexpr util::JsonLimits kBodyLimits{util::kMaxApiBodyBytes, util::kMaxJsonDepth};
    if (auto problem = util::json_limit_problem(body, kBodyLimits)) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         "a body splitnet refuses to decode: " + *problem);
    }
    // Not JSON (a proxy's error page): no body, the status decides.
    return util::try_parse_json_bounded(body, kBodyLimits).value_or(nullptr);
}

std::string status_message(const ApiResponse& response) {
    if (response.body.is_object()) {
        if (auto it = response.body.find("message"); it != response.body.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    return "HTTP " + std::to_string(response.status);
}

ApiClient::ApiClient(ClusterAccess access, ApiOptions options)
    : access_(std::move(access)), options_(options) {
    TlsSettings tls;
    tls.ca_pem = access_.ca_pem;
    tls.insecure_skip_verify = access_.insecure_skip_tls_verify;
    tls.server_name = access_.tls_server_name;
    tls.client_cert_pem = access_.client_cert_pem;
    tls.client_key_pem = access_.client_key_pem;
    if (tls.insecure_skip_verify) {
        spdlog::warn(
            "{}: insecure-skip-tls-verify is set, the API server certificate is not "
            "verified",
            access_.source);
    }
    connection_ = std::make_unique<HttpsConnection>(access_.host, access_.port, std::move(tls));
}

ApiClient::~ApiClient() = default;

unsigned ApiClient::request_count() const noexcept {
    return connection_->exchanges();
}

unsigned ApiClient::handshake_count() const noexcept {
    return connection_->handshakes();
}

std::string ApiClient::server() const {
    return access_.server();
}

milliseconds ApiClient::budget_left() const noexcept {
    const auto left = options_.budget - duration_cast<milliseconds>(spent_);
    return std::max(left, milliseconds(0));
}

ApiResponse ApiClient::get(std::string_view path) {
    return call("GET", path, {});
}

ApiResponse ApiClient::put(std::string_view path, const nlohmann::json& body) {
    return call("PUT", path, util::dump_json(body));
}

ApiResponse ApiClient::del(std::string_view path, const nlohmann::json& body) {
    return call("DELETE", path, util::dump_json(body));
}

ApiResponse ApiClient::json_patch(std::string_view path, const nlohmann::json& patch) {
    return call("PATCH", path, util::dump_json(patch));
}

ApiResponse ApiClient::post(std::string_view path, const nlohmann::json& body,
                            std::optional<milliseconds> within) {
    return call("POST", path, util::dump_json(body), within);
}

ApiResponse ApiClient::call(std::string_view method, std::string_view path, const std::string& body,
                            std::optional<milliseconds> within) {
    HeaderList headers = {{"Accept", "application/json"},
                          {"User-Agent", "splitnet/" SPLITNET_VERSION}};
    if (!body.empty()) {
        // A PATCH is only ever a JSON patch here (json_patch).
        headers.emplace_back(
            "Content-Type", method == "PATCH" ? "application/json-patch+json" : "application/json");
    }
    if (!access_.token.empty()) {
        headers.emplace_back("Authorization", "Bearer " + access_.token);
    } else if (!access_.username.empty()) {
        headers.emplace_back("Authorization",
                             "Basic " + base64_encode(access_.username + ":" + access_.password));
    }
    const std::string target = access_.path_prefix + std::string(path);
    const std::string what = std::string(method) + " " + server() + std::string(path);

    // The time left for this call: the invocation's budget, and `within` when given.
    const auto spent_before = spent_;
    const auto left_for_call = [&] {
        const auto left = budget_left();
        if (!within) {
            return left;
        }
        const auto own = *within - duration_cast<milliseconds>(spent_ - spent_before);
        return std::max(std::min(left, own), milliseconds(0));
    };
    milliseconds backoff = options_.initial_backoff;
    std::string last_problem = "no attempt was made";
    for (int attempt = 1;; ++attempt) {
        const auto left = left_for_call();
        if (left <= milliseconds(0)) {
            if (within && budget_left() > milliseconds(0)) {
                throw cni::Error(
                    cni::ErrorCode::TryAgainLater,
                    fmt::format("Kubernetes API: {} did not succeed within its {} ms: {}", what,
                                within->count(), last_problem));
            }
            throw cni::Error(cni::ErrorCode::TryAgainLater,
                             fmt::format("Kubernetes API: {} did not succeed within apiTimeout "
                                         "({} ms for all API calls of this invocation): {}",
                                         what, options_.budget.count(), last_problem));
        }
        const auto timeout =
            options_.request_timeout.count() > 0 ? std::min(options_.request_timeout, left) : left;
        const auto start = Clock::now();
        auto outcome = connection_->exchange(method, target, headers, body, start + timeout);
        spent_ += Clock::now() - start;

        milliseconds wait = backoff;
        if (!outcome.response) {
            last_problem = outcome.error;
            const bool retry = outcome.failure == TransportFailure::Refused ||
                               outcome.failure == TransportFailure::Reset;
            if (!retry) {
                // A call with a bound of its own timed out against that bound, not apiTimeout.
                const char* hint = outcome.failure == TransportFailure::Timeout && !within
                                       ? " (timed out; raise apiTimeout if the API server is slow)"
                                       : "";
                throw cni::Error(cni::ErrorCode::TryAgainLater,
                                 "Kubernetes API: " + what + " failed: " + outcome.error + hint);
            }
            spdlog::debug("{}: attempt {} failed ({}), retrying", what, attempt, outcome.error);
        } else {
            ApiResponse response{outcome.response->status, nullptr};
            try {
                response.body = parse_response_body(outcome.response->body);
            } catch (const cni::Error& e) {
                throw cni::Error(cni::ErrorCode::DecodingFailure,
                                 "Kubernetes API: " + what + " returned HTTP " +
                                     std::to_string(response.status) + " with " + e.msg());
            }
            const auto status = response.status;
            if (status == 401) {
                throw cni::Error(cni::ErrorCode::Other,
                                 "Kubernetes API: " + what + " returned 401 Unauthorized (" +
                                     status_message(response) + "): the credentials in " +
                                     access_.source +
                                     " are invalid or expired; regenerate the kubeconfig or its "
                                     "service-account token");
            }
            if (status == 403) {
                throw cni::Error(cni::ErrorCode::Other,
                                 "Kubernetes API: " + what + " returned 403 Forbidden (" +
                                     status_message(response) + "): grant the identity of " +
                                     access_.source +
                                     " RBAC get on pods and network-attachment-definitions, "
                                     "update on pods/status and create on events (Multus' "
                                     "ClusterRole)");
            }
            if (!retryable_status(status)) {
                return response;
            }
            last_problem = "HTTP " + std::to_string(status) + " " + status_message(response);
            wait =
                std::max(wait, parse_retry_after(outcome.response->retry_after, left_for_call()));
            spdlog::debug("{}: attempt {} got {}, retrying", what, attempt, last_problem);
        }
        wait = std::min(wait, left_for_call());
        if (wait > milliseconds(0)) {
            std::this_thread::sleep_for(wait);
            spent_ += wait;
        }
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
}

std::unique_ptr<ApiClient> make_client(const config::MetaConf& conf, const cni::Getenv& getenv,
                                       const std::string& sa_dir) {
    ApiOptions options;
    options.budget = conf.api_timeout;
    if (!conf.kubeconfig.empty()) {
        return std::make_unique<ApiClient>(load_kubeconfig(conf.kubeconfig), options);
    }
    if (in_cluster_available(getenv)) {
        return std::make_unique<ApiClient>(in_cluster_access(getenv, sa_dir), options);
    }
    return nullptr;
}

std::unique_ptr<ApiClient> make_client(const config::MetaConf& conf) {
    const cni::Getenv getenv = [](std::string_view name) -> std::optional<std::string> {
        const char* value =
            std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
    return make_client(conf, getenv, std::string(kServiceAccountDir));
}

}  // namespace splitnet::k8s
