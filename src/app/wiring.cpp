#include "splitnet/app/wiring.hpp"

#include <memory>

#include "splitnet/app/kubernetes_source.hpp"
#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/delegate/exec_invoker.hpp"

namespace splitnet::app {
namespace {

// Picks native or exec per call, once the config is known (disableNative).
class SwitchingInvoker final : public delegate::PluginInvoker {
public:
    SwitchingInvoker(delegate::PluginInvoker& native, delegate::PluginInvoker& exec)
        : native_(native), exec_(exec) {}

    std::string invoke(const delegate::PluginCall& call) override {
        return use_native ? native_.invoke(call) : exec_.invoke(call);
    }

    bool use_native = true;

private:
    delegate::PluginInvoker& native_;
    delegate::PluginInvoker& exec_;
};

}  // namespace

int run_plugin(const verbs::Io& io) {
    delegate::ExecInvoker exec;
    attach::NativeInvoker native(exec);
    SwitchingInvoker invoker(native, exec);
    verbs::Adapters adapters{invoker, [&invoker](const config::MetaConf& conf) {
                                 invoker.use_native = !conf.disable_native;
                                 return make_network_source(conf);
                             }};
    return verbs::run(io, adapters);
}

}  // namespace splitnet::app
