// CNI_ARGS from the runtime (and the K8S_POD_* values in it), as the plan and the native plugins
// read them.

#include "fuzz_support.hpp"
#include "splitnet/attach/macvlan_config.hpp"
#include "splitnet/attach/static_ipam.hpp"
#include "splitnet/cni/args.hpp"
#include "splitnet/plan/plan.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(cni_args) {
    const std::string text(input);
    fuzz::attempt([&] {
        const auto pairs = cni::parse_cni_args(input);
        // Parsing keeps every byte: joining gives the input back.
        fuzz::require(text.empty() || cni::join_cni_args(pairs) == text,
                      "join_cni_args(parse_cni_args(x)) == x");
        (void)cni::arg_value(pairs, "K8S_POD_NAME");
        cni::check_known_args(pairs,
                              {attach::kStaticArgKeys.begin(), attach::kStaticArgKeys.end()});
    });
    fuzz::attempt([&] {
        (void)plan::pod_ref_from_args(text);
        (void)plan::attachment_cni_args(text, nullptr, true);
    });
    fuzz::attempt([&] {
        (void)attach::parse_macvlan_config(R"({"cniVersion":"1.0.0","name":"n","type":"macvlan"})",
                                           input);
    });
    fuzz::attempt([&] {
        (void)attach::static_ipam_add(
            R"({"cniVersion":"1.0.0","name":"n","type":"macvlan","ipam":{"type":"static"}})",
            input);
    });
}
