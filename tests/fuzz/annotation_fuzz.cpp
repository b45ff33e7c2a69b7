// The pod annotations k8s.v1.cni.cncf.io/networks (comma list or JSON) and
// v1.multus-cni.io/default-network (same grammar, one element at most). The first byte picks
// strict annotations and the namespace used for elements without one.

#include "fuzz_support.hpp"
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/util/json.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(annotation) {
    if (input.empty()) {
        return;
    }
    const bool strict = (input.front() & 1) != 0;
    const std::string_view ns = (input.front() & 2) != 0 ? "kube-system" : "default";
    input.remove_prefix(1);
    const auto selections = k8s::parse_network_selection(input, ns, strict);
    for (const auto& sel : selections) {
        // Everything that leaves the parser is printable (it goes into state files and logs).
        (void)util::dump_json(sel.port_mappings);
        (void)util::dump_json(sel.bandwidth);
        (void)util::dump_json(sel.cni_args);
    }
}
