#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "splitnet/cni/request.hpp"
#include "splitnet/plan/plan.hpp"

namespace splitnet::verbs {

/// Waits (bounded) for the readiness indicator file. Throws Error(TryAgainLater) naming it.
void wait_for_readiness(const std::string& path, std::chrono::milliseconds timeout);

/// True when the readiness file exists (or none is configured).
bool readiness_ok(const std::string& path);

/// Before any work: every ifname is valid, unique in the plan, and absent from the pod netns,
/// but for the first `being_added` attachments, which this ADD has started already (their names
/// were checked before they were).
void check_ifnames(const std::vector<plan::Attachment>& attachments, const std::string& netns,
                   std::size_t being_added = 0);

/// ADD/DEL into the plugin's own netns is refused (code 8) unless CNI_NETNS_OVERRIDE is 1|true;
/// ADD/CHECK need an existing nsfs path.
void check_netns(const cni::Request& request, const cni::Getenv& getenv);

}  // namespace splitnet::verbs
