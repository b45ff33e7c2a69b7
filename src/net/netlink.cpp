#include "splitnet/net/netlink.hpp"

#include <cctype>
#include <cerrno>
#include <exception>
#include <fcntl.h>

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/utils.h>

#include <fmt/format.h>

#include "splitnet/net/netns.hpp"
#include "splitnet/net/sys_error.hpp"

namespace splitnet::net {

namespace {

constexpr int kDumpAttempts = 5;

std::string reason_text(int nle, int sys_errno) {
    if (sys_errno != 0) {
        return errno_text(sys_errno);
    }
    std::string text = nl_geterror(nle);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

// Records the kernel's errno: libnl maps it to a coarse NLE_* code and drops the original
// (EHOSTUNREACH and ENETUNREACH both become NLE_FAILURE). NL_STOP keeps libnl's own handling.
int record_errno(sockaddr_nl* /*nla*/, nlmsgerr* err, void* arg) {
    *static_cast<int*>(arg) = -err->error;
    return NL_STOP;
}

util::UniqueFd dup_fd(int fd) {
    util::UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!out.valid()) {
        const int err = errno;
        throw KernelError(fmt::format("dup netns fd {}: {}", fd, errno_text(err)), err);
    }
    return out;
}

struct DumpState {
    const std::function<void(nl_object*)>* on_object = nullptr;
    std::exception_ptr error;
};

void parse_object(nl_object* obj, void* arg) {
    auto* state = static_cast<DumpState*>(arg);
    if (state->error) {
        return;
    }
    try {
        (*state->on_object)(obj);
    } catch (...) {
        // Never unwind through libnl's C frames.
        state->error = std::current_exception();
    }
}

int on_valid(nl_msg* msg, void* arg) {
    auto* state = static_cast<DumpState*>(arg);
    const int rc = nl_msg_parse(msg, &parse_object, arg);
    if (rc < 0 && rc != -NLE_MSGTYPE_NOSUPPORT && !state->error) {
        return rc;
    }
    return NL_OK;
}

bool not_found_code(int nle, int sys_errno) noexcept {
    return nle == NLE_NODEV || nle == NLE_OBJ_NOTFOUND || sys_errno == ENODEV ||
           sys_errno == ENOENT || sys_errno == ESRCH;
}

}  // namespace

NetlinkError::NetlinkError(std::string operation, int nle, int sys_errno)
    : KernelError(fmt::format("{}: {}", operation, reason_text(nle, sys_errno)), sys_errno,
                  fmt::format("libnl error {} ({}), errno {}", nle, nl_geterror(nle), sys_errno)),
      nle_(nle),
      reason_(reason_text(nle, sys_errno)) {}

bool NetlinkError::is_not_found() const noexcept {
    return not_found_code(nle_, sys_errno());
}

Netlink::Netlink() : Netlink(open_current_netns().get()) {}

Netlink::Netlink(int netns_fd) : netns_(dup_fd(netns_fd)), last_errno_(std::make_unique<int>(0)) {
    sock_.reset(nl_socket_alloc());
    if (!sock_) {
        throw KernelError("nl_socket_alloc failed: out of memory", ENOMEM);
    }
    nl_socket_modify_err_cb(sock_.get(), NL_CB_CUSTOM, &record_errno, last_errno_.get());
    const auto current = open_current_netns();
    int rc = 0;
    if (same_netns(current.get(), netns_.get())) {
        rc = nl_connect(sock_.get(), NETLINK_ROUTE);
    } else {
        // The socket belongs to the netns it is created in: open it there, then leave.
        NetnsGuard guard(netns_.get());
        rc = nl_connect(sock_.get(), NETLINK_ROUTE);
    }
    if (rc < 0) {
        throw NetlinkError("connect rtnetlink socket", -rc, 0);
    }
}

Netlink::~Netlink() = default;

Netlink::Netlink(Netlink&& other) noexcept = default;

Netlink& Netlink::operator=(Netlink&& other) noexcept = default;

int Netlink::check(int rc, std::string_view operation) {
    if (rc < 0) {
        fail(rc, operation);
    }
    return rc;
}

void Netlink::fail(int rc, std::string_view operation) {
    const int sys = last_errno_ ? *last_errno_ : 0;
    throw NetlinkError(std::string(operation), rc < 0 ? -rc : rc, sys);
}

bool Netlink::is_not_found(int rc) const noexcept {
    return rc < 0 && not_found_code(-rc, last_errno_ ? *last_errno_ : 0);
}

void Netlink::clear_errno() noexcept {
    if (last_errno_) {
        *last_errno_ = 0;
    }
}

void Netlink::dump(int msg_type, int af, const std::function<void()>& reset,
                   const std::function<void(nl_object*)>& on_object, std::string_view operation) {
    int rc = 0;
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
        reset();
        clear_errno();
        DumpState state{&on_object, nullptr};
        // A private copy of the socket's callbacks (keeps the errno recorder) with our parser.
        const NlCbPtr base(nl_socket_get_cb(sock_.get()));
        const NlCbPtr cb(nl_cb_clone(base.get()));
        if (!cb) {
            throw KernelError("nl_cb_clone failed: out of memory", ENOMEM);
        }
        nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, &on_valid, &state);
        rc = nl_rtgen_request(sock_.get(), msg_type, af, NLM_F_DUMP);
        if (rc >= 0) {
            rc = nl_recvmsgs(sock_.get(), cb.get());
        }
        if (state.error) {
            std::rethrow_exception(state.error);
        }
        if (rc != -NLE_DUMP_INTR) {
            break;
        }
    }
    if (rc == -NLE_DUMP_INTR) {
        // Go's netlinksafe also hands back possibly inconsistent data after its retries; a
        // caller that needs a consistent view cannot get one here either, so say so.
        throw NetlinkError(std::string(operation) + " (dump kept being interrupted)", NLE_DUMP_INTR,
                           0);
    }
    check(rc, operation);
}

}  // namespace splitnet::net
