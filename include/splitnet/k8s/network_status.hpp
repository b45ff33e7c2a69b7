#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "splitnet/plan/plan.hpp"

namespace splitnet::k8s {

class ApiClient;

/// One attachment as the network-status annotation sees it.
struct AttachmentStatus {
    std::string network;  ///< DelegateSpec::name ("ns/nad" or the config name)
    std::string ifname;   ///< informational; Multus takes interface names from the result
    bool is_primary = false;
    nlohmann::json result;  ///< the attachment's own result, any CNI version
};

/// Multus' exact annotation value (NAD client CreateNetworkStatuses + SetNetworkStatus): each entry
/// json.MarshalIndent with 4 spaces, joined by ',' inside [ ]; keys name, interface, ips, mac, mtu,
/// default, dns, device-info, gateway; bare IPs; dns {} always; gateway from the default routes of
/// the unmodified result; Go HTML escaping. Results without sandbox interfaces (and more than one
/// interface) give no entry; "[]" when no attachment gives one. Throws Error(DecodingFailure) for
/// a result that is not a CNI result.
std::string network_status_value(const std::vector<AttachmentStatus>& attachments);

/// GET the pod, set the annotation, PUT pods/status (RBAC: pods/status update, as Multus), retry
/// on 409 up to 5 times. A pod that is gone (404 on GET or PUT) is tolerated and logged. A UID
/// mismatch with ref.uid (non-static pod) throws, as Multus does. Skips the write when `value` is
/// "[]" (Multus writes nothing when no entry was produced). Other failures throw cni::Error.
void write_network_status(ApiClient& client, const plan::PodRef& ref, const std::string& value);

}  // namespace splitnet::k8s
