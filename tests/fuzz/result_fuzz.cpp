// A delegate's stdout on ADD: the result document of any CNI version, decoded, converted to
// every version, and chained through a conflist the way add_network hands it to the next plugin.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "splitnet/cni/result.hpp"
#include "splitnet/cni/version.hpp"
#include "splitnet/delegate/invoker.hpp"
#include "splitnet/delegate/network.hpp"
#include "splitnet/util/json.hpp"

using namespace splitnet;

namespace {

// Every plugin of the list answers with the fuzz input.
class EchoInvoker : public delegate::PluginInvoker {
public:
    explicit EchoInvoker(std::string_view output) : output_(output) {}

    std::string invoke(const delegate::PluginCall& call) override {
        return call.verb == cni::Verb::Add ? output_ : std::string();
    }

private:
    std::string output_;
};

}  // namespace

SPLITNET_FUZZ_TARGET(result) {
    fuzz::attempt([&] {
        const auto doc = nlohmann::json::parse(input, nullptr, false);
        if (!doc.is_object()) {
            return;
        }
        for (const auto from : cni::kSupportedVersions) {
            fuzz::attempt([&] {
                const auto result = cni::parse_result(doc, from);
                for (const auto to : cni::kSupportedVersions) {
                    fuzz::attempt([&] { (void)util::dump_json(cni::result_to_json(result, to)); });
                }
            });
        }
    });
    // The list version differs from most results' versions: every answer is converted.
    for (const char* version : {"0.2.0", "0.4.0", "1.1.0"}) {
        fuzz::attempt([&] {
            const auto net = delegate::parse_network_config(
                std::string(R"({"cniVersion":")") + version +
                R"(","name":"fuzz","plugins":[{"type":"first"},{"type":"second"}]})");
            EchoInvoker invoker(input);
            delegate::RuntimeConf rt;
            rt.container_id = "fuzz";
            rt.ifname = "net1";
            (void)util::dump_json(delegate::add_network(invoker, net, rt));
        });
    }
}
