#include "splitnet/k8s/http_client.hpp"

// GCC 12 at -O3 reports -Wnull-dereference inside Asio's scheduler once it is inlined here (a
// false positive in Boost's own code, not ours): silence it for these headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::k8s {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Beast stops reading past it (http::error::body_limit), so a huge response costs no memory.
constexpr std::uint64_t kBodyLimit = util::kMaxApiBodyBytes;
// Lets a tcp_stream timeout (which fires exactly at the deadline) complete before we give up.
constexpr std::chrono::milliseconds kGrace{200};

bool is_ip_literal(const std::string& text) {
    beast::error_code ec;
    asio::ip::make_address(text, ec);
    return !ec;
}

TransportFailure classify(const beast::error_code& ec) {
    if (ec == asio::error::connection_refused) {
        return TransportFailure::Refused;
    }
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
        ec == asio::error::eof || ec == http::error::end_of_stream ||
        ec == ssl::error::stream_truncated || ec == asio::error::connection_aborted) {
        return TransportFailure::Reset;
    }
    if (ec == beast::error::timeout || ec == asio::error::timed_out ||
        ec == asio::error::operation_aborted) {
        return TransportFailure::Timeout;
    }
    if (ec.category() == asio::error::get_ssl_category()) {
        return TransportFailure::Tls;
    }
    if (ec.category() == asio::error::get_netdb_category() ||
        ec.category() == asio::error::get_addrinfo_category()) {
        return TransportFailure::Resolve;
    }
    return TransportFailure::Other;
}

http::verb to_verb(std::string_view method) {
    const auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
        throw cni::Error(cni::ErrorCode::Other, "unknown HTTP method " + std::string(method));
    }
    return verb;
}

}  // namespace

struct HttpsConnection::Impl {
    std::string host;
    std::string port;
    TlsSettings tls;
    asio::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;
    unsigned handshakes = 0;
    unsigned exchanges = 0;

    /// Runs one asynchronous operation to completion (or to the deadline) on our io_context.
    template <class Start>
    beast::error_code run(Start&& start, std::chrono::steady_clock::time_point deadline,
                          const std::function<void()>& cancel) {
        beast::error_code result = asio::error::would_block;
        bool done = false;
        start([&](beast::error_code ec, auto&&...) {
            result = ec;
            done = true;
        });
        ioc.restart();
        ioc.run_until(deadline + kGrace);
        if (!done) {
            cancel();
            ioc.restart();
            ioc.run();
            return beast::error::timeout;
        }
        return result;
    }

    void cancel_stream() {
        if (stream) {
            beast::error_code ignored;
            beast::get_lowest_layer(*stream).socket().close(ignored);
        }
    }

    HttpOutcome failure(const beast::error_code& ec, const std::string& stage) {
        HttpOutcome out;
        out.failure = classify(ec);
        out.error = stage + " " + host + ":" + port + ": " + ec.message();
        if (ec == http::error::body_limit) {
            out.error += " (the response body is larger than " + std::to_string(kBodyLimit) +
                         " bytes, more than any pod or NetworkAttachmentDefinition can be)";
        }
        if (out.failure == TransportFailure::Tls && stream) {
            const long verify = SSL_get_verify_result(stream->native_handle());
            if (verify != X509_V_OK) {
                out.error += std::string(" (certificate verification: ") +
                             X509_verify_cert_error_string(verify) +
                             "; check certificate-authority(-data) and the server name)";
            }
        }
        stream.reset();
        buffer.clear();
        return out;
    }

    std::optional<HttpOutcome> connect(std::chrono::steady_clock::time_point deadline) {
        stream.emplace(ioc, ctx);
        const std::string name = tls.server_name.empty() ? host : tls.server_name;
        SSL* handle = stream->native_handle();
        if (!tls.insecure_skip_verify) {
            const int ok = is_ip_literal(name)
                               ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), name.c_str())
                               : SSL_set1_host(handle, name.c_str());
            if (ok != 1) {
                throw cni::Error(cni::ErrorCode::Other,
                                 "cannot set the TLS verification name " + name);
            }
        }
        if (!is_ip_literal(name)) {
            SSL_set_tlsext_host_name(handle, name.c_str());
        }

        std::vector<tcp::endpoint> endpoints;
        beast::error_code ec;
        if (is_ip_literal(host)) {
            endpoints.emplace_back(asio::ip::make_address(host),
                                   static_cast<unsigned short>(std::stoul(port)));
        } else {
            tcp::resolver resolver(ioc);
            tcp::resolver::results_type results;
            ec = run(
                [&](auto handler) {
                    resolver.async_resolve(
                        host, port,
                        [&, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
                            results = std::move(r);
                            handler(e);
                        });
                },
                deadline, [&] { resolver.cancel(); });
            if (ec) {
                return failure(ec, "resolving");
            }
            for (const auto& entry : results) {
                endpoints.push_back(entry.endpoint());
            }
        }

        auto& lowest = beast::get_lowest_layer(*stream);
        lowest.expires_at(deadline);
        ec = run([&](auto handler) { lowest.async_connect(endpoints, handler); }, deadline,
                 [&] { cancel_stream(); });
        if (ec) {
            return failure(ec, "connecting to");
        }
        ec = run([&](auto handler) { stream->async_handshake(ssl::stream_base::client, handler); },
                 deadline, [&] { cancel_stream(); });
        if (ec) {
            return failure(ec, "TLS handshake with");
        }
        ++handshakes;
        return std::nullopt;
    }
};

HttpsConnection::HttpsConnection(std::string host, std::string port, TlsSettings tls)
    : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = std::move(port);
    impl_->tls = std::move(tls);
    auto& ctx = impl_->ctx;
    const auto& t = impl_->tls;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (t.insecure_skip_verify) {
        ctx.set_verify_mode(ssl::verify_none);
    } else {
        ctx.set_verify_mode(ssl::verify_peer);
        if (t.ca_pem.empty()) {
            ctx.set_default_verify_paths(ec);
        } else {
            ctx.add_certificate_authority(asio::buffer(t.ca_pem), ec);
        }
        if (ec) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             "cannot load the Kubernetes API CA certificate: " + ec.message() +
                                 " (check certificate-authority(-data) in the kubeconfig)");
        }
    }
    if (!t.client_cert_pem.empty()) {
        ctx.use_certificate_chain(asio::buffer(t.client_cert_pem), ec);
        if (!ec) {
            ctx.use_private_key(asio::buffer(t.client_key_pem), ssl::context::pem, ec);
        }
        if (ec) {
            throw cni::Error(cni::ErrorCode::InvalidNetworkConfig,
                             "cannot load the kubeconfig client certificate/key: " + ec.message());
        }
    }
}

HttpsConnection::~HttpsConnection() {
    close();
}

void HttpsConnection::close() noexcept {
    // No TLS close_notify round trip: the process is about to exit and the server copes.
    impl_->cancel_stream();
    impl_->stream.reset();
    impl_->buffer.clear();
}

unsigned HttpsConnection::handshakes() const noexcept {
    return impl_->handshakes;
}

unsigned HttpsConnection::exchanges() const noexcept {
    return impl_->exchanges;
}

HttpOutcome HttpsConnection::exchange(std::string_view method, const std::string& target,
                                      const HeaderList& headers, const std::string& body,
                                      std::chrono::steady_clock::time_point deadline) {
    auto& d = *impl_;
    http::request<http::string_body> req{to_verb(method), target, 11};
    const bool v6 = d.host.find(':') != std::string::npos;
    req.set(http::field::host, (v6 ? "[" + d.host + "]" : d.host) + ":" + d.port);
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = d.stream.has_value();
        if (!reused) {
            if (auto failed = d.connect(deadline)) {
                return *failed;
            }
        }
        auto& lowest = beast::get_lowest_layer(*d.stream);
        lowest.expires_at(deadline);
        auto ec = d.run([&](auto handler) { http::async_write(*d.stream, req, handler); }, deadline,
                        [&] { d.cancel_stream(); });
        if (ec) {
            auto out = d.failure(ec, "sending to");
            if (reused && out.failure == TransportFailure::Reset) {
                spdlog::debug("kept-alive connection was closed by the server, reconnecting");
                continue;
            }
            return out;
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(kBodyLimit);
        ec = d.run([&](auto handler) { http::async_read(*d.stream, d.buffer, parser, handler); },
                   deadline, [&] { d.cancel_stream(); });
        if (ec) {
            const bool nothing_read = !parser.got_some();
            auto out = d.failure(ec, "reading from");
            if (reused && nothing_read && out.failure == TransportFailure::Reset) {
                spdlog::debug("kept-alive connection was closed by the server, reconnecting");
                continue;
            }
            return out;
        }
        ++d.exchanges;
        auto res = parser.release();
        HttpOutcome out;
        out.response = HttpResponse{res.result_int(), std::move(res.body()), {}};
        if (auto it = res.find(http::field::retry_after); it != res.end()) {
            out.response->retry_after = std::string(it->value());
        }
        if (!res.keep_alive()) {
            close();
        }
        return out;
    }
    HttpOutcome out;
    out.failure = TransportFailure::Reset;
    out.error = "connection to " + d.host + ":" + d.port + " closed twice in a row";
    return out;
}

}  // namespace splitnet::k8s
