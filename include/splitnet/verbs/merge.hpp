#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/cni/result.hpp"

namespace splitnet::verbs {

struct AttachmentResult {
    std::string ifname;
    nlohmann::json result;  ///< the attachment's own result, any version
};

/// Concatenates every attachment's interfaces, ips, routes and dns, primary first. Each IP is
/// re-indexed to its own attachment's interface, and an IP without an index points at the
/// attachment's sandbox interface (containerd reads pod IPs from eth0's entries: a net1 IP
/// must never land there). Pure.
cni::Result merge_results(const std::vector<AttachmentResult>& attachments,
                          const std::string& netns, const std::string& version);

/// Splits a merged result back per attachment (CHECK without state): interfaces up to and
/// including each attachment's sandbox interface, their IPs, and routes whose gateway lies in
/// one of the attachment's subnets (routes without gateway stay with the primary).
std::vector<cni::Result> split_result(const cni::Result& merged,
                                      const std::vector<std::string>& ifnames);

}  // namespace splitnet::verbs
