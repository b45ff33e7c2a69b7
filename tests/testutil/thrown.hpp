#pragma once

#include <optional>
#include <string>
#include <utility>

#include "splitnet/cni/error.hpp"

namespace splitnet::testutil {

/// Runs `fn` and returns the `E` it threw, or nullopt when it returned normally. Anything else
/// thrown propagates (and fails the test). Lets a test assert "it threw" and then inspect the
/// error, instead of a try { fn(); FAIL(); } catch block per case.
template <class E, class Fn>
std::optional<E> thrown(Fn&& fn) {
    try {
        std::forward<Fn>(fn)();
    } catch (const E& e) {
        return e;
    }
    return std::nullopt;
}

/// Runs `fn`, returning the text of the cni::Error it threw, or "" when it succeeded: a test
/// compares the message (or "") directly.
template <class Fn>
std::string error_of(Fn&& fn) {
    const auto error = thrown<cni::Error>(std::forward<Fn>(fn));
    return error ? error->what() : "";
}

}  // namespace splitnet::testutil
