#include "splitnet/util/rollback.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace splitnet::util {
namespace {

TEST(Rollback, RunsUndoUnlessDismissed) {
    int undone = 0;
    {
        Rollback guard([&] { ++undone; });
    }
    EXPECT_EQ(undone, 1);
    {
        Rollback guard([&] { ++undone; });
        guard.dismiss();
    }
    EXPECT_EQ(undone, 1);
}

TEST(Rollback, SwallowsUndoFailure) {
    EXPECT_NO_THROW({ Rollback guard([] { throw std::runtime_error("boom"); }); });
}

}  // namespace
}  // namespace splitnet::util
