// kubeconfig YAML (current-context -> cluster + user, server URL, base64 data fields).

#include "fuzz_support.hpp"
#include "splitnet/k8s/kubeconfig.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(kubeconfig) {
    // certificate-authority, tokenFile, client-certificate and client-key name files, read whole.
    // Keep the fuzzer away from device and proc files (/dev/zero never ends) and from the YAML
    // escapes that could spell them.
    for (const std::string_view risky : {"dev", "proc", "sys", "\\"}) {
        if (input.find(risky) != std::string_view::npos) {
            return;
        }
    }
    (void)k8s::parse_kubeconfig(input, "/nonexistent/splitnet-fuzz", "kubeconfig");
}
