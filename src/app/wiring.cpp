#include "splitnet/app/wiring.hpp"

#include <memory>

#include "splitnet/app/kubernetes_source.hpp"
#include "splitnet/attach/native_invoker.hpp"
#include "splitnet/delegate/exec_invoker.hpp"

namespace splitnet::app {

int run_plugin(const verbs::Io& io) {
    delegate::ExecInvoker exec;
    attach::NativeInvoker native(exec);  // execs what it cannot create natively
    const verbs::Adapters adapters{native, exec, &make_network_source};
    return verbs::run(io, adapters);
}

}  // namespace splitnet::app
