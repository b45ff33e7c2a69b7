#pragma once

#include <memory>

#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

namespace splitnet::net {

/// One deleter for every libnl free/put function.
template <auto Free>
struct NlDeleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

using NlSockPtr = std::unique_ptr<nl_sock, NlDeleter<&nl_socket_free>>;
using LinkPtr = std::unique_ptr<rtnl_link, NlDeleter<&rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, NlDeleter<&rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, NlDeleter<&rtnl_route_put>>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlDeleter<&nl_addr_put>>;
using NlCbPtr = std::unique_ptr<nl_cb, NlDeleter<&nl_cb_put>>;
using NlMsgPtr = std::unique_ptr<nl_msg, NlDeleter<&nlmsg_free>>;

}  // namespace splitnet::net
