#include "splitnet/store/files.hpp"

#include <string>

#include "splitnet/cni/error.hpp"
#include "splitnet/cni/request.hpp"

namespace splitnet::store::detail {

void require_container_id(std::string_view id) {
    if (!cni::is_valid_identifier(id)) {
        throw cni::Error(cni::ErrorCode::InvalidEnvironment, "invalid characters in containerID",
                         std::string(id));
    }
}

void require_attachment_key(std::string_view container_id, std::string_view ifname) {
    require_container_id(container_id);
    if (auto problem = cni::interface_name_problem(ifname); !problem.empty()) {
        throw cni::Error(cni::ErrorCode::InvalidEnvironment, problem, std::string(ifname));
    }
}

}  // namespace splitnet::store::detail
