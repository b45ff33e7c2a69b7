#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <vector>

namespace splitnet::util {

/// Runs `job(i)` for every i in [0, count) on up to `max_workers` threads, the caller's among
/// them, and returns once every job has finished. Jobs are taken in order of i. What a job
/// throws is caught and returned at its index (nullptr: it succeeded), so one failure never
/// keeps another job from running. When a thread cannot be started, the workers that exist
/// (at least the caller) run the remaining jobs.
///
/// Jobs must be safe to run together: no shared mutable state without a lock, and a netns
/// switch only through net::NetnsGuard (netns membership is per thread).
std::vector<std::exception_ptr> run_concurrently(std::size_t count, std::size_t max_workers,
                                                 const std::function<void(std::size_t)>& job);

}  // namespace splitnet::util
