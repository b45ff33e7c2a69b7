#include "splitnet/app/wiring.hpp"

#include <memory>

#include "splitnet/delegate/exec_invoker.hpp"

namespace splitnet::app {

int run_plugin(const verbs::Io& io) {
    delegate::ExecInvoker exec;
    verbs::Adapters adapters{exec, [](const config::MetaConf& /*conf*/) {
                                 return std::make_unique<verbs::InlineSource>();
                             }};
    return verbs::run(io, adapters);
}

}  // namespace splitnet::app
