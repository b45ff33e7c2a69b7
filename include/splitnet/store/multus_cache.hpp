#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/plan/plan.hpp"

namespace splitnet::store {

/// Go Multus' scratch cache (`<multusCniDir>/<containerID>`, a JSON array of DelegateNetConf)
/// as attachments, so that a DEL after replacing Multus tears down what Multus set up.
/// Element 0 is the master (is_primary) and gets `runtime_ifname` unless it requested a name;
/// the others get their ifnameRequest or net<idx>. `config` is the exact base64-decoded
/// "Bytes", except that a conflist without cniVersion gets `default_cni_version` (as Multus
/// does on DEL). runtime_config is rebuilt from the cached ips/mac/infinibandGUID/deviceID;
/// non-master elements carry a Selection with those requests; cni_args is left to the caller.
/// Throws Error(DecodingFailure) naming the element that is not understood.
std::vector<plan::Attachment> parse_multus_cache(std::string_view bytes,
                                                 std::string_view runtime_ifname,
                                                 std::string_view default_cni_version);

/// Reads and parses the scratch cache of `container_id`; nullopt when there is none.
/// A corrupt file throws Error(DecodingFailure) naming the file.
std::optional<std::vector<plan::Attachment>> read_multus_cache(
    const std::string& multus_cni_dir, std::string_view container_id,
    std::string_view runtime_ifname, std::string_view default_cni_version);

/// Removes the scratch cache of `container_id` once a DEL that used it succeeded (Multus removes
/// it on DEL too); absent is fine. Throws Error(IoFailure) naming the file.
void remove_multus_cache(const std::string& multus_cni_dir, std::string_view container_id);

/// The "result" of libcni's cache file `<cache_dir>/results/<network>-<containerID>-<ifname>`
/// (prevResult for DEL). nullopt when the file is missing, unreadable or has no result object:
/// DEL then runs without prevResult, as Multus does (logged as a warning).
std::optional<nlohmann::json> read_libcni_result(const std::string& cache_dir,
                                                 std::string_view network_name,
                                                 std::string_view container_id,
                                                 std::string_view ifname);

}  // namespace splitnet::store
