#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace splitnet::agent {

/// What one GET returns.
struct HttpAnswer {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

/// Answers a GET of `target` (path and query as sent). Called on the server thread.
using HttpHandler = std::function<HttpAnswer(std::string_view target)>;

/// "HOST:PORT" or "[V6]:PORT" -> (host, port); nullopt when malformed. "0" is not an address
/// (the caller's "disabled"). Pure.
struct BindAddress {
    std::string host;
    unsigned short port = 0;
};

std::optional<BindAddress> parse_bind_address(std::string_view text);

/// A deliberately small HTTP/1.1 server for /metrics and /healthz: one thread of its own
/// (asynchronous, so a client that stalls holds nobody else), GET and HEAD only, the request head
/// bounded (8 KiB) and no body read, every connection closed after one answer and cut after
/// 10 s, so no client can hold it or the agent's watch loop.
class MetricsServer {
public:
    /// Binds (throws cni::Error naming the address when it cannot) and starts serving.
    MetricsServer(const BindAddress& address, HttpHandler handler);
    ~MetricsServer();  ///< stops the thread
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    MetricsServer(MetricsServer&&) = delete;
    MetricsServer& operator=(MetricsServer&&) = delete;

    /// The port bound (useful with port 0).
    [[nodiscard]] unsigned short port() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace splitnet::agent
