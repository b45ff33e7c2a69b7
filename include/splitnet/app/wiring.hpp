#pragma once

#include "splitnet/verbs/dispatch.hpp"

namespace splitnet::app {

/// Runs one CNI invocation with the production adapters (native macvlan, exec, Kubernetes).
int run_plugin(const verbs::Io& io);

}  // namespace splitnet::app
