#include "splitnet/app/wiring.hpp"

#include <memory>

#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/delegate/exec_invoker.hpp"

namespace splitnet::app {

int run_plugin(const verbs::Io& io) {
    delegate::ExecInvoker exec;
    // macvlan attachments (with static IPAM) run in-process; every other plugin is exec'd.
    attach::NativeInvoker native(exec);
    verbs::Adapters adapters{native, [](const config::MetaConf& /*conf*/) {
                                 return std::make_unique<verbs::InlineSource>();
                             }};
    return verbs::run(io, adapters);
}

}  // namespace splitnet::app
