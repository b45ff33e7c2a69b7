#include "splitnet/util/kill_point.hpp"

#include <atomic>
#include <charconv>
#include <csignal>
#include <string>
#include <utility>

namespace splitnet::util {
namespace {

// One process runs one verb: a plain global is all the hook needs. Armed before any thread
// starts; `seen` is atomic because a DEL's workers pass the same points together.
struct Armed {
    std::string step;
    unsigned at = 1;
    std::atomic<unsigned> seen{0};
};

Armed& armed() {
    static Armed value;
    return value;
}

}  // namespace

void arm_kill_point(std::string_view spec) {
    auto& next = armed();
    next.step.clear();
    next.at = 1;
    next.seen = 0;
    const auto at = spec.find('@');
    std::string step(spec.substr(0, at));
    if (at != std::string_view::npos) {
        const auto count = spec.substr(at + 1);
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
        if (ec == std::errc() && end == count.data() + count.size() && n > 0) {
            next.at = n;
        }
    }
    next.step = std::move(step);
}

void kill_point(std::string_view step) {
    auto& a = armed();
    if (a.step.empty() || step != a.step) {
        return;
    }
    if (++a.seen == a.at) {
        (void)::raise(SIGKILL);  // SIGKILL cannot be caught: nothing runs after it
    }
}

}  // namespace splitnet::util
