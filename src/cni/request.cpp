#include "splitnet/cni/request.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/util/text.hpp"

namespace splitnet::cni {
namespace {

struct VerbName {
    Verb verb;
    std::string_view name;
};

constexpr std::array<VerbName, 6> kVerbs = {{{Verb::Add, "ADD"},
                                             {Verb::Del, "DEL"},
                                             {Verb::Check, "CHECK"},
                                             {Verb::Status, "STATUS"},
                                             {Verb::Gc, "GC"},
                                             {Verb::Version, "VERSION"}}};

bool needs_container(Verb verb) {
    return verb == Verb::Add || verb == Verb::Check || verb == Verb::Del;
}

bool needs_netns(Verb verb) {
    return verb == Verb::Add || verb == Verb::Check;
}

bool needs_path(Verb verb) {
    return verb != Verb::Version;
}

std::vector<std::string> split_path(const std::string& text) {
    std::vector<std::string> out;
    for (const auto item : util::split(text, ':')) {
        if (!item.empty()) {
            out.emplace_back(item);
        }
    }
    return out;
}

}  // namespace

std::string_view verb_name(Verb verb) {
    for (const auto& entry : kVerbs) {
        if (entry.verb == verb) {
            return entry.name;
        }
    }
    return "UNKNOWN";
}

bool is_valid_identifier(std::string_view id) {
    if (id.empty() || std::isalnum(static_cast<unsigned char>(id.front())) == 0) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
    });
}

std::string interface_name_problem(std::string_view name) {
    if (name.empty()) {
        return "interface name is empty";
    }
    if (name.size() > 15) {
        return "interface name is too long";
    }
    if (name == "." || name == "..") {
        return "interface name is . or ..";
    }
    for (const char c : name) {
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) != 0) {
            return "interface name contains / or : or whitespace characters";
        }
    }
    // Stricter than the kernel's dev_valid_name: "e%d" is a name *template* to the kernel (the
    // link would get another name, and a veth peer could leak), and a name travels into logs and
    // JSON documents, where control bytes and invalid UTF-8 do not belong.
    for (const char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '%' || byte < 0x21 || byte > 0x7e) {
            return "interface name contains '%' or a character that is not printable ASCII";
        }
    }
    return {};
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte > 0x7e) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(byte));
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<Request> parse_request_env(const Getenv& getenv) {
    const auto command = getenv("CNI_COMMAND");
    if (!command || command->empty()) {
        return std::nullopt;
    }
    Request request;
    bool known = false;
    for (const auto& entry : kVerbs) {
        if (entry.name == *command) {
            request.verb = entry.verb;
            known = true;
        }
    }
    if (!known) {
        throw Error(ErrorCode::InvalidEnvironment, fmt::format("unknown CNI_COMMAND: {}", *command),
                    "CNI_COMMAND is one of ADD, DEL, CHECK, STATUS, GC, VERSION");
    }
    const auto value = [&](std::string_view key) { return getenv(key).value_or(""); };
    request.container_id = value("CNI_CONTAINERID");
    request.netns = value("CNI_NETNS");
    request.ifname = value("CNI_IFNAME");
    request.args = value("CNI_ARGS");
    const auto path = getenv("CNI_PATH");
    if (path) {
        request.cni_path = split_path(*path);
    }

    const Verb verb = request.verb;
    // "..."sv, not a bare literal: GCC 12 sees a "potential null dereference" in
    // string_view's strlen once vector::emplace_back inlines it (-Wnull-dereference).
    using namespace std::string_view_literals;
    std::vector<std::string_view> missing;
    if (needs_container(verb) && request.container_id.empty()) {
        missing.push_back("CNI_CONTAINERID"sv);
    }
    if (needs_netns(verb) && request.netns.empty()) {
        missing.push_back("CNI_NETNS"sv);
    }
    if (needs_container(verb) && request.ifname.empty()) {
        missing.push_back("CNI_IFNAME"sv);
    }
    if (needs_path(verb) && (!path || path->empty())) {
        missing.push_back("CNI_PATH"sv);
    }
    if (!missing.empty()) {
        throw Error(ErrorCode::InvalidEnvironment,
                    fmt::format("required env variables [{}] missing", fmt::join(missing, ",")),
                    "the container runtime must set these CNI_* variables");
    }
    if (needs_container(verb)) {
        if (!is_valid_identifier(request.container_id)) {
            throw Error(ErrorCode::InvalidEnvironment, "invalid characters in containerID",
                        request.container_id);
        }
        if (auto problem = interface_name_problem(request.ifname); !problem.empty()) {
            throw Error(ErrorCode::InvalidEnvironment, problem,
                        problem == "interface name is too long"
                            ? "interface name should be less than 16 characters"
                            : "CNI_IFNAME=" + printable(request.ifname));
        }
    }
    return request;
}

}  // namespace splitnet::cni
