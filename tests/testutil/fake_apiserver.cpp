#include "testutil/fake_apiserver.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <sys/wait.h>

namespace splitnet::testutil {
namespace {

namespace fs = std::filesystem;

// Certificate generation under a loaded CI machine can take a while; this bounds the wait.
constexpr auto kReadyTimeout = std::chrono::seconds(60);

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

/// Next to the built binary, so every test process of a build reuses one generated CA.
std::string certs_cache() {
    return (fs::path(SPLITNET_BINARY).parent_path() / "tests" / "k8s-test-certs").string();
}

}  // namespace

FakeApiServer::FakeApiServer(FakeApiServerOptions options) {
    fs::create_directories(scratch_.path() + "/data/pods");
    fs::create_directories(scratch_.path() + "/data/nads");
    const std::string script =
        std::string(SPLITNET_SOURCE_DIR) + "/tests/testutil/fake_apiserver.py";
    std::vector<std::string> args = {"python3",       script,
                                     "--data",        scratch_.path() + "/data",
                                     "--log",         scratch_.path() + "/requests.log",
                                     "--control",     scratch_.path() + "/control.json",
                                     "--certs-dir",   scratch_.path() + "/certs",
                                     "--certs-cache", certs_cache()};
    if (!options.token.empty()) {
        args.insert(args.end(), {"--token", options.token});
    }
    if (options.no_listen) {
        args.emplace_back("--no-listen");
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());

    std::vector<char*> argv;  // built before fork: the child only calls async-signal-safe functions
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::array<int, 2> pipe_fds{};
    if (pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    pid_ = fork();
    if (pid_ < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        execvp("python3", argv.data());
        _exit(127);
    }
    close(pipe_fds[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd pfd{pipe_fds[0], POLLIN, 0};
        if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            close(pipe_fds[0]);
            throw std::runtime_error("fake API server did not become ready");
        }
        std::array<char, 512> buf{};
        const auto n = read(pipe_fds[0], buf.data(), buf.size());
        if (n <= 0) {
            close(pipe_fds[0]);
            throw std::runtime_error("fake API server exited before it was ready");
        }
        line.append(buf.data(), static_cast<std::size_t>(n));
    }
    close(pipe_fds[0]);
    const auto ready = nlohmann::json::parse(line.substr(0, line.find('\n')));
    port_ = ready.at("port").get<int>();
    ca_ = ready.at("ca").get<std::string>();
    client_cert_ = ready.at("client_cert").get<std::string>();
    client_key_ = ready.at("client_key").get<std::string>();
}

FakeApiServer::~FakeApiServer() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void FakeApiServer::put_pod(const std::string& ns, const std::string& name,
                            const nlohmann::json& pod) const {
    scratch_.write("data/pods/" + ns + "/" + name + ".json", pod.dump());
}

void FakeApiServer::put_nad(const std::string& ns, const std::string& name,
                            const nlohmann::json& nad) const {
    scratch_.write("data/nads/" + ns + "/" + name + ".json", nad.dump());
}

nlohmann::json FakeApiServer::read_pod(const std::string& ns, const std::string& name) const {
    return nlohmann::json::parse(
        slurp(scratch_.path() + "/data/pods/" + ns + "/" + name + ".json"));
}

void FakeApiServer::set_control(const nlohmann::json& control) const {
    const auto tmp = scratch_.write("control.json.new", control.dump());
    fs::rename(tmp, scratch_.path() + "/control.json");
}

std::vector<nlohmann::json> FakeApiServer::log_entries() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(slurp(scratch_.path() + "/requests.log"));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            out.push_back(nlohmann::json::parse(line));
        }
    }
    return out;
}

std::vector<nlohmann::json> FakeApiServer::requests() const {
    std::vector<nlohmann::json> out;
    for (auto& entry : log_entries()) {
        if (entry.contains("method")) {
            out.push_back(std::move(entry));
        }
    }
    return out;
}

unsigned FakeApiServer::handshakes() const {
    unsigned n = 0;
    for (const auto& entry : log_entries()) {
        n += entry.value("event", "") == "handshake" ? 1 : 0;
    }
    return n;
}

std::string FakeApiServer::server_url() const {
    return "https://127.0.0.1:" + std::to_string(port_);
}

std::string FakeApiServer::write_kubeconfig(const std::string& token) const {
    std::ostringstream y;
    y << "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: "
      << server_url() << "\n    certificate-authority: " << ca_
      << "\nusers:\n- name: multus\n  user:\n    token: \"" << token
      << "\"\ncontexts:\n- name: ctx\n  context:\n    cluster: test\n    user: multus\n"
      << "current-context: ctx\n";
    return scratch_.write("kubeconfig", y.str());
}

}  // namespace splitnet::testutil
