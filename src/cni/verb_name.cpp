#include "splitnet/cni/request.hpp"

namespace splitnet::cni {

std::string_view verb_name(Verb verb) {
    switch (verb) {
        case Verb::Add:
            return "ADD";
        case Verb::Del:
            return "DEL";
        case Verb::Check:
            return "CHECK";
        case Verb::Status:
            return "STATUS";
        case Verb::Gc:
            return "GC";
        case Verb::Version:
            return "VERSION";
    }
    return "UNKNOWN";
}

}  // namespace splitnet::cni
