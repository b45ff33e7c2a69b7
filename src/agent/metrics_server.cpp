#include "splitnet/agent/metrics_server.hpp"

#include <chrono>
#include <thread>

// GCC 12 at -O3 reports -Wnull-dereference inside Asio's scheduler once the unity build inlines it
// into this file's batch (a false positive in Boost's own code, as in k8s/http_client.cpp):
// silence it for these headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxRequestHeadBytes = 8192;
constexpr auto kConnectionTimeout = std::chrono::seconds(10);
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

// One connection: read one request, write one answer, close.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, const HttpHandler& handler)
        : stream_(std::move(socket)), handler_(handler) {
        parser_.header_limit(kMaxRequestHeadBytes);
        parser_.body_limit(0);
    }

    void start() {
        stream_.expires_after(kConnectionTimeout);
        http::async_read(
            stream_, buffer_, parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec) {
            if (ec != http::error::end_of_stream) {
                answer_error(http::status::bad_request, "bad request\n");
            }
            return;
        }
        const auto& request = parser_.get();
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
            answer_error(http::status::method_not_allowed, "only GET\n");
            return;
        }
        HttpAnswer answer;
        try {
            answer = handler_(std::string_view(request.target().data(), request.target().size()));
        } catch (const std::exception& e) {
            answer = {500, "text/plain; charset=utf-8", fmt::format("{}\n", e.what())};
        }
        respond(answer, request.method() == http::verb::head);
    }

    void answer_error(http::status status, std::string body) {
        respond({static_cast<int>(status), "text/plain; charset=utf-8", std::move(body)}, false);
    }

    void respond(const HttpAnswer& answer, bool head_only) {
        response_.result(static_cast<unsigned>(answer.status));
        response_.version(11);
        response_.set(http::field::content_type, answer.content_type);
        response_.set(http::field::connection, "close");
        response_.keep_alive(false);
        if (!head_only) {
            response_.body() = answer.body;
        }
        response_.prepare_payload();
        http::async_write(stream_, response_,
                          [self = shared_from_this()](beast::error_code, std::size_t) {
                              beast::error_code ignored;
                              self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                          });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{kMaxRequestHeadBytes};
    http::request_parser<http::empty_body> parser_;
    http::response<http::string_body> response_;
    const HttpHandler& handler_;
};

}  // namespace

std::optional<BindAddress> parse_bind_address(std::string_view text) {
    const auto split = util::split_host_port(text);
    if (!split) {
        return std::nullopt;
    }
    beast::error_code bad;
    const auto address = asio::ip::make_address(std::string(split->host), bad);
    if (bad || address.is_v6() != split->bracketed) {
        return std::nullopt;  // an address, never a name: nothing to resolve
    }
    return BindAddress{std::string(split->host), split->port};
}

struct MetricsServer::Impl {
    Impl(const BindAddress& address, HttpHandler h) : handler(std::move(h)), acceptor(io) {
        beast::error_code ec;
        const tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
        if (!ec) {
            acceptor.open(endpoint.protocol(), ec);
        }
        if (!ec) {
            acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor.bind(endpoint, ec);
        }
        if (!ec) {
            acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            throw cni::Error(cni::ErrorCode::InvalidEnvironment,
                             fmt::format("metrics: cannot listen on {}:{}: {} (see "
                                         "--metrics-bind-address; 0 turns the endpoint off)",
                                         address.host, address.port, ec.message()));
        }
        accept();
        thread = std::jthread([this] { io.run(); });
    }

    ~Impl() {
        io.stop();  // thread-safe; run() returns and the thread is joined below
        if (thread.joinable()) {
            thread.join();
        }
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    Impl(Impl&&) = delete;
    Impl& operator=(Impl&&) = delete;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) {
                return;
            }
            if (ec) {
                // Out of fds or memory: try again a little later instead of spinning.
                retry.expires_after(kAcceptRetry);
                retry.async_wait([this](beast::error_code) { accept(); });
                return;
            }
            std::make_shared<Session>(std::move(socket), handler)->start();
            accept();
        });
    }

    HttpHandler handler;
    asio::io_context io{1};
    tcp::acceptor acceptor;
    asio::steady_timer retry{io};
    std::jthread thread;
};

MetricsServer::MetricsServer(const BindAddress& address, HttpHandler handler)
    : impl_(std::make_unique<Impl>(address, std::move(handler))) {}

MetricsServer::~MetricsServer() = default;

unsigned short MetricsServer::port() const {
    return impl_->acceptor.local_endpoint().port();
}

}  // namespace splitnet::agent
