#include <gtest/gtest.h>

#include "splitnet/log/logging.hpp"

int main(int argc, char** argv) {
    splitnet::log::init_stderr();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
