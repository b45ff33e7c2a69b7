#pragma once

// Test hook for kill-safety (tests/e2e/test_kill_safety.sh): the runtime's environment (trusted,
// like CNI_*) may set SPLITNET_TEST_KILL_AT=<step>[@<n>], and splitnet then SIGKILLs itself the
// n-th time (default: the first) it reaches that named step of ADD, exactly as a runtime's
// timeout would. Never read from stdin, annotations or NADs. Steps: state-saved,
// delegate-spawned, plan-saved (when the primary started before the plan was known),
// attachment-added, native-link-created, native-renamed, native-addresses, native-up,
// native-routes, native-egress, added (tests/e2e/test_k8s_cases.sh for plan-saved).

#include <string_view>

namespace splitnet::util {

inline constexpr std::string_view kKillPointVariable = "SPLITNET_TEST_KILL_AT";

/// Arms the hook from the variable's value; "" disarms it.
void arm_kill_point(std::string_view spec);

/// SIGKILLs this process when `step` is the armed step and this is its n-th time.
void kill_point(std::string_view step);

}  // namespace splitnet::util
