#pragma once

#include <functional>
#include <utility>

namespace splitnet::util {

/// Runs `undo` when the scope is left without dismiss(): the C++ form of Go's "defer if err".
/// Failures of the undo action are logged, never thrown (a destructor must not throw).
class Rollback {
public:
    explicit Rollback(std::function<void()> undo) : undo_(std::move(undo)) {}

    ~Rollback();
    Rollback(const Rollback&) = delete;
    Rollback& operator=(const Rollback&) = delete;
    Rollback(Rollback&&) = delete;
    Rollback& operator=(Rollback&&) = delete;

    void dismiss() noexcept { undo_ = nullptr; }

private:
    std::function<void()> undo_;
};

}  // namespace splitnet::util
