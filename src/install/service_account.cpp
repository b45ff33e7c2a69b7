#include "splitnet/install/service_account.hpp"

#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace splitnet::install {
namespace {

std::string base64(std::string_view bytes) {
    // EVP_EncodeBlock writes 4 bytes per 3 (rounded up) and a terminating NUL.
    std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
    const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    return {reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n)};
}

// A YAML double-quoted scalar: the token and paths are written verbatim, whatever they hold.
std::string yaml_quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

std::string service_account_kubeconfig(const k8s::ClusterAccess& access, bool skip_tls_verify) {
    const std::string trust =
        skip_tls_verify ? "insecure-skip-tls-verify: true"
                        : fmt::format("certificate-authority-data: {}", base64(access.ca_pem));
    return fmt::format(
        "# Written by `splitnet install` from the service account; rewritten when the token or\n"
        "# the CA changes.\n"
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: local\n"
        "  cluster:\n"
        "    server: {}\n"
        "    {}\n"
        "users:\n"
        "- name: splitnet\n"
        "  user:\n"
        "    token: {}\n"
        "contexts:\n"
        "- name: splitnet-context\n"
        "  context:\n"
        "    cluster: local\n"
        "    user: splitnet\n"
        "current-context: splitnet-context\n",
        yaml_quoted(access.server()), trust, yaml_quoted(access.token));
}

}  // namespace splitnet::install
