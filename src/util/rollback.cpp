#include "splitnet/util/rollback.hpp"

#include <exception>

#include <spdlog/spdlog.h>

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
