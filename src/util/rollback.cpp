#include "splitnet/util/rollback.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace splitnet::util {

Rollback::~Rollback() {
    if (!undo_) {
        return;
    }
    try {
        undo_();
    } catch (const std::exception& e) {
        spdlog::warn("rollback step failed: {}", e.what());
    } catch (...) {
        spdlog::warn("rollback step failed");
    }
}

}  // namespace splitnet::util
