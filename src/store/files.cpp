#include "files.hpp"

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

}  // namespace splitnet::store::detail
