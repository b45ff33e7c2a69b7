#pragma once

// The one way JSON enters and leaves splitnet. Every document from outside (stdin, delegate
// configs and results, annotations, API bodies, conf files, state and cache files) is parsed by
// parse_json_bounded/try_parse_json_bounded, which refuse oversized and too deeply nested input
// before nlohmann builds anything. Every document we print or write is serialised by dump_json,
// which cannot throw on text that is not valid UTF-8 (docs/security.md "Bounded parsing").

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "splitnet/cni/error.hpp"

namespace splitnet::util {

/// Nesting limit for documents from outside. Real CNI configs, results, pod objects and
/// annotations nest less than 20 levels; the limit only exists so that a hostile document cannot
/// drive the recursive code that walks, copies and prints parsed values off the stack.
inline constexpr std::size_t kMaxJsonDepth = 128;

/// Nesting limit for documents splitnet composed itself from pieces that passed kMaxJsonDepth:
/// a delegate config with the annotation's cni-args or a prevResult merged in, a state file that
/// stores a selection. Re-reading them must never fail where reading their pieces did not.
inline constexpr std::size_t kMaxComposedJsonDepth = 2 * kMaxJsonDepth;

inline constexpr std::size_t kMiB = std::size_t{1} << 20U;

/// Size of one network configuration (stdin, a NAD's spec.config, a file in confDir). Kubernetes
/// objects are at most 1.5 MiB (etcd's default request limit), so this is well above any real one.
inline constexpr std::size_t kMaxConfigBytes = 4 * kMiB;

/// Body of one Kubernetes API response (a pod or a NAD), same reasoning as kMaxConfigBytes.
inline constexpr std::size_t kMaxApiBodyBytes = 4 * kMiB;

/// One annotation value: Kubernetes limits all annotations of an object together to 256 KiB.
inline constexpr std::size_t kMaxAnnotationBytes = 256 * std::size_t{1024};

/// A delegate's stdout (ExecOptions::max_stdout kills a plugin that prints more) and the files
/// that hold results and configs of every attachment (state files, Go Multus caches).
inline constexpr std::size_t kMaxResultBytes = 16 * kMiB;

struct JsonLimits {
    std::size_t max_bytes = kMaxConfigBytes;
    std::size_t max_depth = kMaxJsonDepth;
};

/// The deepest nesting of arrays and objects in `text`, counted without recursion and without
/// building anything; stops counting once it exceeds `stop_above`. Brackets inside strings do not
/// count. On text that is not JSON the count is still an upper bound of what a parser reaches.
std::size_t json_nesting_depth(std::string_view text, std::size_t stop_above);

/// Why `text` may not be parsed under `limits` (too large, or nested too deeply), or nullopt.
std::optional<std::string> json_limit_problem(std::string_view text, const JsonLimits& limits);

/// Parses one JSON document within `limits`; nullopt when it is not JSON or exceeds them, with the
/// reason in `problem` when given. For callers that treat an undecodable document as absent.
template <class Json = nlohmann::json>
std::optional<Json> try_parse_json_bounded(std::string_view text, const JsonLimits& limits,
                                           std::string* problem = nullptr) {
    auto why = json_limit_problem(text, limits);
    if (!why) {
        try {
            return Json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            // parse_error, and out_of_range for a number beyond a double (1e400).
            why = e.what();
        }
    }
    if (problem != nullptr) {
        *problem = std::move(*why);
    }
    return std::nullopt;
}

/// Parses one JSON document within `limits`, or throws cni::Error(`code`, "<what>: <reason>").
template <class Json = nlohmann::json>
Json parse_json_bounded(std::string_view text, std::string_view what, const JsonLimits& limits,
                        cni::ErrorCode code = cni::ErrorCode::DecodingFailure) {
    std::string problem;
    auto doc = try_parse_json_bounded<Json>(text, limits, &problem);
    if (!doc) {
        throw cni::Error(code, std::string(what) + ": " + problem);
    }
    return std::move(*doc);
}

/// Serialises `doc` (compact, or indented by `indent` spaces); bytes that are not valid UTF-8 in
/// its strings (environment values, plugin output) become U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& doc, int indent = -1);

/// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, exactly as dump_json
/// would print it: for measuring and clipping untrusted text before it goes into a document.
std::string valid_utf8(std::string_view text);

}  // namespace splitnet::util
