#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/delegate/invoker.hpp"
#include "splitnet/util/json.hpp"
#include "splitnet/verbs/run.hpp"

namespace splitnet::verbs {

/// The process' outside world, injectable for tests.
struct Io {
    cni::Getenv getenv;
    std::function<std::string()> read_stdin;  ///< throws Error(IoFailure)
    std::function<void(std::string_view)> write_stdout;
    std::function<void(std::string_view)> write_stderr;
};

/// The effects one run uses (real ones in main, fakes in tests). Which invoker a run uses is
/// the config's choice (disableNative), made by run().
struct Adapters {
    delegate::PluginInvoker& invoker;  ///< native where it can be (macvlan, static), else exec
    delegate::PluginInvoker& exec;     ///< every plugin by exec ("disableNative": true)
    std::function<std::unique_ptr<NetworkSource>()> make_source;
};

/// Parses the request, validates it like the Go skel, runs the verb and writes exactly one JSON
/// document (result, VERSION answer or error object) to stdout. Returns the exit code. Never
/// throws: whatever escapes the verb becomes an error object (kLastResortError at worst).
int run(const Io& io, const Adapters& adapters);

/// What splitnet is and which CNI versions it speaks (no CNI_COMMAND, and `splitnet version`).
std::string about_text();
/// The CNI error object run() prints for `error` ("cniVersion" only when `version` is set).
std::string error_document(const cni::Error& error, const std::string& version);

/// The stdin size we accept (a CNI config is a few KiB; a conflist with prevResult a few more).
inline constexpr std::size_t kMaxStdinBytes = util::kMaxConfigBytes;

/// Printed when even building the error object failed (e.g. out of memory): fixed, valid JSON.
inline constexpr std::string_view kLastResortError =
    R"json({"code":999,"msg":"splitnet: internal error while reporting an error"})json";

}  // namespace splitnet::verbs
