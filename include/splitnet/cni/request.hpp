#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace splitnet::cni {

enum class Verb { Add, Del, Check, Status, Gc, Version };

std::string_view verb_name(Verb verb);

/// The CNI_* parameters of one invocation, validated as the Go skel does.
struct Request {
    Verb verb = Verb::Version;
    std::string container_id;
    std::string netns;
    std::string ifname;
    std::string args;                   ///< raw CNI_ARGS
    std::vector<std::string> cni_path;  ///< CNI_PATH split on ':'
    std::string config;                 ///< stdin bytes (empty for VERSION)
};

using Getenv = std::function<std::optional<std::string>(std::string_view)>;

/// Reads and validates CNI_* for the verb. Returns nullopt when CNI_COMMAND is unset (the caller
/// prints the about text). Throws Error(InvalidEnvironment) with the skel's messages.
std::optional<Request> parse_request_env(const Getenv& getenv);

/// Interface-name rules of the Go skel (empty, > 15 bytes, "." / "..", '/', ':' or whitespace),
/// plus '%' (a kernel name template) and any byte outside printable ASCII. Returns an empty
/// string when valid, else the message.
std::string interface_name_problem(std::string_view name);

/// `text` with every byte outside printable ASCII written as \xNN: safe to put in an error
/// document or a log line whatever the bytes were.
std::string printable(std::string_view text);

/// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ (container IDs and network names).
bool is_valid_identifier(std::string_view id);

}  // namespace splitnet::cni
