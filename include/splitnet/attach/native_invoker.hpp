#pragma once

#include <string>
#include <string_view>

#include "splitnet/delegate/invoker.hpp"

namespace splitnet::attach {

/// Plugin types splitnet runs in-process instead of exec'ing them ("macvlan").
bool is_native_type(std::string_view type);

/// A PluginInvoker that runs native types in-process with the reference plugin's semantics for
/// every verb (the skel's version gates included) and hands every other type to `fallback`
/// (the exec invoker). IPAM plugins other than "static" are exec'd through `fallback` too.
class NativeInvoker final : public delegate::PluginInvoker {
public:
    explicit NativeInvoker(delegate::PluginInvoker& fallback) : fallback_(fallback) {}

    std::string invoke(const delegate::PluginCall& call) override;

private:
    delegate::PluginInvoker& fallback_;
};

}  // namespace splitnet::attach
