// Go Multus' scratch cache (<multusCniDir>/<containerID>), read by DEL after a migration: parsed,
// and read through the DEL path itself (file, libcni result cache lookup by the config's name).

#include <string>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "splitnet/app/kubernetes_source.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/store/multus_cache.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

using namespace splitnet;

SPLITNET_FUZZ_TARGET(multus_cache) {
    fuzz::attempt([&] {
        const auto attachments = store::parse_multus_cache(input, "eth0", "1.0.0");
        for (const auto& attachment : attachments) {
            // What DEL does with each: its config is a delegate configuration.
            fuzz::attempt([&] { (void)delegate::parse_network_config(attachment.config); });
            (void)util::dump_json(attachment.runtime_config);
        }
    });
    config::MetaConf conf;
    conf.cni_version = "1.0.0";
    conf.multus_cni_dir = fuzz::scratch_dir();
    cni::Request request;
    request.verb = cni::Verb::Del;
    request.container_id = "3f8c0e5a1b2d";
    request.ifname = "eth0";
    util::write_file_atomic(fuzz::scratch_dir(), request.container_id, input, 0600);
    app::KubernetesSource source{std::unique_ptr<k8s::ApiClient>()};
    fuzz::attempt([&] { (void)source.multus_cache(conf, request); });
    ::unlink((fuzz::scratch_dir() + "/" + request.container_id).c_str());
}
