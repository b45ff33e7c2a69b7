#pragma once

// The Kubernetes side of splitnet in one include: pod info, delegate resolution, network-status.
#include "splitnet/k8s/annotation.hpp"
#include "splitnet/k8s/api_client.hpp"
#include "splitnet/k8s/nad_resolver.hpp"
#include "splitnet/k8s/network_status.hpp"
#include "splitnet/k8s/pod_source.hpp"
