#include "splitnet/util/concurrent.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace splitnet::util {
namespace {

// Each job arrives and waits (bounded, generously) until `expected` jobs are in at once: true
// only when they really ran side by side.
class JobRendezvous {
public:
    explicit JobRendezvous(std::size_t expected) : expected_(expected) {}

    bool meet() {
        std::unique_lock lock(mutex_);
        ++arrived_;
        met_.notify_all();
        return met_.wait_for(lock, std::chrono::seconds(30),
                             [this] { return arrived_ >= expected_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable met_;
    std::size_t expected_;
    std::size_t arrived_ = 0;
};

TEST(RunConcurrently, RunsEveryJobAndReturnsWhatEachThrewAtItsIndex) {
    std::vector<int> ran(5, 0);
    const auto errors = run_concurrently(5, 3, [&](std::size_t i) {
        ran[i] = 1;
        if (i % 2 == 1) {
            throw std::runtime_error("job " + std::to_string(i));
        }
    });
    EXPECT_EQ(ran, (std::vector<int>{1, 1, 1, 1, 1}));
    ASSERT_EQ(errors.size(), 5U);
    for (std::size_t i = 0; i < errors.size(); ++i) {
        EXPECT_EQ(errors[i] != nullptr, i % 2 == 1) << i;
    }
    try {
        std::rethrow_exception(errors[3]);
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "job 3");
    }
    EXPECT_TRUE(run_concurrently(0, 4, [](std::size_t) { FAIL(); }).empty());
}

TEST(RunConcurrently, JobsRunTogetherUpToTheWorkerBound) {
    JobRendezvous all_three(3);
    const auto errors = run_concurrently(3, 8, [&](std::size_t) {
        if (!all_three.meet()) {
            throw std::runtime_error("the jobs did not run together");
        }
    });
    for (const auto& error : errors) {
        EXPECT_EQ(error, nullptr);
    }
}

TEST(RunConcurrently, OneWorkerRunsTheJobsInOrderOnTheCallersThread) {
    std::vector<std::size_t> order;
    const auto caller = std::this_thread::get_id();
    run_concurrently(4, 1, [&](std::size_t i) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        order.push_back(i);
    });
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace splitnet::util
