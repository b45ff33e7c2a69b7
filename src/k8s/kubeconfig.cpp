#include "splitnet/k8s/kubeconfig.hpp"

#include <array>
#include <cerrno>
#include <optional>
#include <system_error>

#include <spdlog/spdlog.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::k8s {
namespace {

std::string read_kubeconfig_file(const std::string& path, const std::string& what) {
    std::optional<std::string> content;
    try {
        // A kubeconfig with inline certificates is a few KiB; a node file must not cost memory.
        content = util::read_file_if_exists(path, util::Symlinks::Follow, util::kMaxConfigBytes);
    } catch (const cni::Error& e) {
        cni::fail_config(what + ": " + e.what());
    }
    if (!content) {
        cni::fail_config("cannot read " + what + " " + path + ": " +
                         std::system_category().message(ENOENT));
    }
    return std::move(*content);
}

std::string resolve(const std::string& path, const std::string& base_dir) {
    if (path.empty() || path.front() == '/' || base_dir.empty()) {
        return path;
    }
    return base_dir + "/" + path;
}

std::string scalar(const YAML::Node& node, const char* key) {
    const auto child = node[key];
    if (!child || child.IsNull()) {
        return {};
    }
    if (!child.IsScalar()) {
        cni::fail_config(std::string("kubeconfig: '") + key + "' must be a string");
    }
    return child.as<std::string>();
}

/// Finds `name` in a kubeconfig list ({name, <kind>: {...}}) and returns the inner map.
YAML::Node named(const YAML::Node& root, const char* list, const char* kind,
                 const std::string& name, const std::string& source) {
    const auto items = root[list];
    if (items && items.IsSequence()) {
        for (const auto& item : items) {
            if (item["name"] && item["name"].as<std::string>() == name) {
                return item[kind] ? item[kind] : YAML::Node(YAML::NodeType::Map);
            }
        }
    }
    cni::fail_config(source + ": " + kind + " \"" + name +
                     "\" (from current-context) not found in '" + list + "'");
}

std::string trim_newlines(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

}  // namespace

std::string ClusterAccess::server() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "https://" + (v6 ? "[" + host + "]" : host) + ":" + port + path_prefix;
}

void parse_server_url(std::string_view url, ClusterAccess& access) {
    constexpr std::string_view kHttps = "https://";
    if (url.rfind("http://", 0) == 0) {
        cni::fail_config(
            "Kubernetes API server " + std::string(url) +
            " uses plain http; splitnet only speaks https (the bearer token must not travel in "
            "clear text): use the https:// endpoint of the API server");
    }
    if (url.rfind(kHttps, 0) != 0) {
        cni::fail_config("Kubernetes API server URL \"" + std::string(url) +
                         "\" must start with https://");
    }
    auto rest = url.substr(kHttps.size());
    const auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    access.path_prefix = prefix;
    access.port = "443";
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            cni::fail_config("Kubernetes API server URL \"" + std::string(url) +
                             "\": unterminated '['");
        }
        access.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                cni::fail_config("Kubernetes API server URL \"" + std::string(url) +
                                 "\": bad port");
            }
            access.port = std::string(authority.substr(close + 2));
        }
    } else {
        const auto colon = authority.rfind(':');
        access.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            access.port = std::string(authority.substr(colon + 1));
        }
    }
    if (access.host.empty()) {
        cni::fail_config("Kubernetes API server URL \"" + std::string(url) +
                         "\" has no valid host:port");
    }
    if (!util::parse_port(access.port)) {
        cni::fail_config("Kubernetes API server URL \"" + std::string(url) + "\": port \"" +
                         access.port + "\" is not a number from 1 to 65535");
    }
}

namespace {

// yaml-cpp throws on a wrong node kind (a scalar indexed like a map, a list read as a string):
// parse_kubeconfig turns that into an error naming the file.
ClusterAccess access_from(const YAML::Node& root, const std::string& base_dir,
                          const std::string& source) {
    std::string context_name = scalar(root, "current-context");
    if (context_name.empty()) {
        const auto contexts = root["contexts"];
        if (contexts && contexts.IsSequence() && contexts.size() == 1 && contexts[0]["name"]) {
            context_name = contexts[0]["name"].as<std::string>();
            spdlog::info("{}: no current-context, using the only context \"{}\"", source,
                         context_name);
        } else {
            cni::fail_config(source + ": no current-context set");
        }
    }
    const auto context = named(root, "contexts", "context", context_name, source);
    const auto cluster = named(root, "clusters", "cluster", scalar(context, "cluster"), source);

    ClusterAccess access;
    access.source = source;
    const auto server = scalar(cluster, "server");
    if (server.empty()) {
        cni::fail_config(source + ": cluster \"" + scalar(context, "cluster") + "\" has no server");
    }
    parse_server_url(server, access);
    access.tls_server_name = scalar(cluster, "tls-server-name");
    if (const auto insecure = cluster["insecure-skip-tls-verify"];
        insecure && insecure.IsScalar()) {
        access.insecure_skip_tls_verify = insecure.as<bool>(false);
    }
    const auto ca_data = scalar(cluster, "certificate-authority-data");
    const auto ca_file = scalar(cluster, "certificate-authority");
    if (access.insecure_skip_tls_verify && (!ca_data.empty() || !ca_file.empty())) {
        // client-go refuses the combination too: either the server is verified or it is not.
        cni::fail_config(
            source + ": cluster \"" + scalar(context, "cluster") +
            "\" sets insecure-skip-tls-verify together with a certificate authority; specifying "
            "a root certificates file with the insecure flag is not allowed: remove "
            "insecure-skip-tls-verify (or the certificate-authority)");
    }
    if (!ca_data.empty()) {
        access.ca_pem = base64_decode(ca_data);
    } else if (!ca_file.empty()) {
        access.ca_pem = read_kubeconfig_file(resolve(ca_file, base_dir), "certificate-authority");
    }

    const auto user_name = scalar(context, "user");
    if (!user_name.empty()) {
        const auto user = named(root, "users", "user", user_name, source);
        if (user["exec"] || user["auth-provider"]) {
            cni::fail_config(
                source + ": user \"" + user_name +
                "\" uses exec/auth-provider credentials, which a CNI plugin cannot run; use a "
                "service-account token (token/tokenFile) or a client certificate");
        }
        access.token = scalar(user, "token");
        if (auto file = scalar(user, "tokenFile"); !file.empty()) {
            // client-go: a token file takes precedence and is re-read; we read it per invocation.
            access.token =
                trim_newlines(read_kubeconfig_file(resolve(file, base_dir), "tokenFile"));
        }
        access.username = scalar(user, "username");
        access.password = scalar(user, "password");
        if (auto data = scalar(user, "client-certificate-data"); !data.empty()) {
            access.client_cert_pem = base64_decode(data);
        } else if (auto file = scalar(user, "client-certificate"); !file.empty()) {
            access.client_cert_pem =
                read_kubeconfig_file(resolve(file, base_dir), "client-certificate");
        }
        if (auto data = scalar(user, "client-key-data"); !data.empty()) {
            access.client_key_pem = base64_decode(data);
        } else if (auto file = scalar(user, "client-key"); !file.empty()) {
            access.client_key_pem = read_kubeconfig_file(resolve(file, base_dir), "client-key");
        }
        if (access.client_cert_pem.empty() != access.client_key_pem.empty()) {
            cni::fail_config(
                source + ": user \"" + user_name +
                "\" has a client certificate without a key (or a key without a certificate)");
        }
    }
    return access;
}

}  // namespace

ClusterAccess parse_kubeconfig(std::string_view yaml, const std::string& base_dir,
                               const std::string& source) {
    YAML::Node root;
    if (yaml.size() > util::kMaxConfigBytes) {
        cni::fail_config(source + ": larger than " + std::to_string(util::kMaxConfigBytes) +
                         " bytes");
    }
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp's own guard (depthguard.h) stops at a fixed depth; its message says "bad file".
        cni::fail_config(source + ": invalid YAML: nested deeper than " +
                         std::to_string(e.depth()) + " levels");
    } catch (const YAML::Exception& e) {
        cni::fail_config(source + ": invalid YAML: " + e.what());
    }
    if (!root.IsMap()) {
        cni::fail_config(source + ": not a kubeconfig (expected a YAML mapping)");
    }
    try {
        return access_from(root, base_dir, source);
    } catch (const YAML::Exception& e) {
        cni::fail_config(source + ": not a valid kubeconfig: " + e.what());
    }
}

ClusterAccess load_kubeconfig(const std::string& path) {
    const auto text = read_kubeconfig_file(path, "kubeconfig");
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    return parse_kubeconfig(text, dir, "kubeconfig " + path);
}

bool in_cluster_available(const cni::Getenv& getenv) {
    const auto host = getenv("KUBERNETES_SERVICE_HOST");
    const auto port = getenv("KUBERNETES_SERVICE_PORT");
    return host && !host->empty() && port && !port->empty();
}

ClusterAccess in_cluster_access(const cni::Getenv& getenv, const std::string& sa_dir) {
    if (!in_cluster_available(getenv)) {
        cni::fail_config(
            "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
            "KUBERNETES_SERVICE_PORT must be defined");
    }
    ClusterAccess access;
    access.source = "in-cluster config";
    access.host = *getenv("KUBERNETES_SERVICE_HOST");
    access.port = *getenv("KUBERNETES_SERVICE_PORT");
    if (!util::parse_port(access.port)) {
        cni::fail_config("in-cluster configuration: KUBERNETES_SERVICE_PORT \"" + access.port +
                         "\" is not a number from 1 to 65535");
    }
    access.token = trim_newlines(read_kubeconfig_file(sa_dir + "/token", "service-account token"));
    access.ca_pem = read_kubeconfig_file(sa_dir + "/ca.crt", "service-account CA");
    return access;
}

std::string base64_decode(std::string_view text) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') {
            continue;
        }
        const auto pos = kAlphabet.find(c);
        if (pos == std::string_view::npos) {
            cni::fail_config("kubeconfig: invalid base64 in a *-data field");
        }
        buffer = (buffer << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace splitnet::k8s
