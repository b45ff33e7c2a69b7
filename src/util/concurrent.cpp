#include "splitnet/util/concurrent.hpp"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

namespace splitnet::util {

std::vector<std::exception_ptr> run_concurrently(std::size_t count, std::size_t max_workers,
                                                 const std::function<void(std::size_t)>& job) {
    std::vector<std::exception_ptr> errors(count);
    std::atomic<std::size_t> next{0};
    // Each slot of `errors` is written by the one worker that took its index, and read only
    // after every worker was joined.
    const auto work = [&] {
        for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
            try {
                job(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
    };
    std::vector<std::jthread> helpers;
    // The caller's thread is one of the workers.
    const auto workers = std::min(count, std::max<std::size_t>(max_workers, 1));
    const auto wanted = workers > 0 ? workers - 1 : 0;
    helpers.reserve(wanted);
    for (std::size_t n = 0; n < wanted; ++n) {
        try {
            helpers.emplace_back(work);
        } catch (const std::system_error& e) {
            // Out of threads (RLIMIT_NPROC, memory): fewer workers, same jobs.
            spdlog::debug("running {} job(s) on {} thread(s): {}", count, n + 1, e.what());
            break;
        }
    }
    work();
    helpers.clear();  // joins
    return errors;
}

}  // namespace splitnet::util
