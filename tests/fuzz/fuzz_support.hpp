#pragma once

// What every fuzz harness shares (docs/security-fuzz.md). A harness body gets the input bytes as
// a string_view and calls the project's real parsing functions with them. The verdict:
//   - returning normally, or throwing cni::Error (a clean rejection), is fine; the error must
//     also print as the CNI error document the dispatcher writes, since that is what the runtime
//     gets;
//   - any other exception escaping (nlohmann, yaml-cpp, std::) is a missing validation: the
//     harness prints it and aborts, which libFuzzer reports as a crash;
//   - a sanitizer report is a crash.
// Built two ways from the same sources: with SPLITNET_FUZZ (clang), every harness is its own
// libFuzzer binary; otherwise they are all linked into `fuzz_replay`, which runs corpus files
// (any compiler, e.g. the g++ ASan build), so that the corpus and every past crash are replayed
// by ctest.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "splitnet/cni/error.hpp"

namespace splitnet::fuzz {

using Harness = void (*)(std::string_view input);

/// Runs one input through `harness` with the verdict above (aborts on a finding).
void run_one(const char* name, Harness harness, std::string_view input);

/// A clean rejection: checks that the error prints as the dispatcher's CNI error document.
void rejected(const cni::Error& error);

/// Runs one step of a harness; a cni::Error from it is a clean rejection and the harness goes on
/// with its next step.
template <class Step>
void attempt(Step&& step) {
    try {
        step();
    } catch (const cni::Error& e) {
        rejected(e);
    }
}

/// A property of the parser that must hold (e.g. a round trip); aborts naming it otherwise.
void require(bool holds, const char* property);

/// Quiet logging (the parsers warn about odd input; printing that is slow and noise here).
void init_once();

/// A private directory for harnesses that go through files (mkdtemp, removed at exit; the
/// harness removes what it writes).
const std::string& scratch_dir();

/// The input split at NUL bytes into at most `count` parts; missing parts are empty. Harnesses
/// that take several untrusted values (a config and CNI_ARGS, ...) read them this way.
std::vector<std::string_view> split_parts(std::string_view input, std::size_t count);

/// Registers a harness in the replay binary; returns true (for a static initialiser).
bool register_harness(const char* name, Harness harness) noexcept;

/// The registered harnesses by name (replay binary).
const std::map<std::string, Harness>& harnesses();

}  // namespace splitnet::fuzz

// SPLITNET_FUZZ_TARGET(name) { ...body using `input`... }
#ifdef SPLITNET_FUZZ_REPLAY
#define SPLITNET_FUZZ_TARGET(name)                                    \
    static void fuzz_body_##name(std::string_view input);             \
    [[maybe_unused]] static const bool kFuzzRegistered_##name =       \
        ::splitnet::fuzz::register_harness(#name, &fuzz_body_##name); \
    static void fuzz_body_##name(std::string_view input)
#else
#define SPLITNET_FUZZ_TARGET(name)                                                              \
    static void fuzz_body_##name(std::string_view input);                                       \
    extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {                      \
        ::splitnet::fuzz::init_once();                                                          \
        return 0;                                                                               \
    }                                                                                           \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {         \
        ::splitnet::fuzz::run_one(#name, &fuzz_body_##name,                                     \
                                  std::string_view(reinterpret_cast<const char*>(data), size)); \
        return 0;                                                                               \
    }                                                                                           \
    static void fuzz_body_##name(std::string_view input)
#endif
