#pragma once

#include <string>

#include "splitnet/agent/gateway_watch.hpp"
#include "splitnet/cni/request.hpp"
#include "splitnet/k8s/events.hpp"

namespace splitnet::agent {

/// Event reasons of the gateway watch (Warning / Normal).
inline constexpr std::string_view kGatewayUnreachableReason = "SplitnetGatewayUnreachable";
inline constexpr std::string_view kGatewayRecoveredReason = "SplitnetGatewayRecovered";
inline constexpr std::string_view kProbeGatewayAction = "ProbeGateway";

/// The Event about one transition. Pure.
k8s::EventSpec gateway_event_spec(const GatewayEvent& event);

/// Bound of one round's Events (all of them, retries included): a slow API server delays the
/// next probe round by at most this.
inline constexpr std::chrono::seconds kGatewayEventsBudget{5};

/// A sink that posts each transition as an Event on its pod, as the node's service account
/// (in-cluster env + the token and CA in `service_account_dir`, read again for every round, so a
/// rotated token is used). nullptr when KUBERNETES_SERVICE_HOST/PORT are not set (no API: the
/// watch's log lines are all there is). Failures are logged, once per round.
GatewayEventSink make_api_event_sink(cni::Getenv getenv, std::string service_account_dir,
                                     std::string node_name);

}  // namespace splitnet::agent
