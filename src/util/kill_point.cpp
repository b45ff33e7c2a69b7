#include "splitnet/util/kill_point.hpp"

#include <charconv>
#include <csignal>
#include <string>
#include <utility>

namespace splitnet::util {
namespace {

// One process runs one verb: a plain global is all the hook needs.
struct Armed {
    std::string step;
    unsigned at = 1;
    unsigned seen = 0;
};

Armed& armed() {
    static Armed value;
    return value;
}

}  // namespace

void arm_kill_point(std::string_view spec) {
    Armed next;
    const auto at = spec.find('@');
    next.step = std::string(spec.substr(0, at));
    if (at != std::string_view::npos) {
        const auto count = spec.substr(at + 1);
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
        if (ec == std::errc() && end == count.data() + count.size() && n > 0) {
            next.at = n;
        }
    }
    armed() = std::move(next);
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
