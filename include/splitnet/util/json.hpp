#pragma once

// The one way JSON enters and leaves splitnet. Every document from outside (stdin, delegate
// configs and results, annotations, API bodies, conf files, state and cache files) is parsed by
// parse_json_bounded/try_parse_json_bounded, which refuse oversized and too deeply nested input
// before nlohmann builds anything. Every document we print or write is serialised by dump_json,
// which cannot throw on text that is not valid UTF-8 (docs/security.md "Bounded parsing").

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// ---- reading parsed documents ------------------------------------------------------------------

/// Go encoding/json key lookup: exact match first, else the last case-insensitive match (the Go
/// decoder lets a later case-folded duplicate win). nullptr when absent or not an object.
const nlohmann::json* find_key_go(const nlohmann::json& object, std::string_view key);

/// The same lookup in a document the caller may change.
inline nlohmann::json* find_key_go(nlohmann::json& object, std::string_view key) {
    // The const overload found the value inside `object`, which is not const here.
    return const_cast<nlohmann::json*>(find_key_go(std::as_const(object), key));
}

/// The value at exactly `key`, or nullptr when it is absent or null (a decoder's "not given").
template <class Json>
const Json* find_given(const Json& object, std::string_view key) {
    if (!object.is_object()) {
        return nullptr;
    }
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The typed readers: `value` as the type asked for, or nullopt when it has another type. Every
// decoder words its own error (Go's unmarshal text, a key name, a plugin's prefix), so the caller
// raises it; what is a string, a number or a list is decided here only.

template <class Json>
std::optional<std::string> json_string(const Json& value) {
    if (!value.is_string()) {
        return std::nullopt;
    }
    return value.template get<std::string>();
}

template <class Json>
std::optional<bool> json_bool(const Json& value) {
    if (!value.is_boolean()) {
        return std::nullopt;
    }
    return value.template get<bool>();
}

/// Whether a number written with a fraction or exponent ("3.0", "1e3") may be read as an integer
/// when its value is integral.
enum class IntegralFloats { Reject, Accept };

/// An integer within [min, max], or nullopt (a string, a fraction, out of range).
template <class Json>
std::optional<std::int64_t> json_integer(const Json& value, std::int64_t min, std::int64_t max,
                                         IntegralFloats floats = IntegralFloats::Reject) {
    std::int64_t out = 0;
    if (value.is_number_unsigned()) {
        if (value.template get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        out = value.template get<std::int64_t>();
    } else if (value.is_number_integer()) {
        out = value.template get<std::int64_t>();
    } else if (value.is_number_float() && floats == IntegralFloats::Accept) {
        // Only an integral value within int64 converts (casting anything else is undefined).
        constexpr double kTwoTo63 = 9223372036854775808.0;
        const double d = value.template get<double>();
        if (!(d >= -kTwoTo63 && d < kTwoTo63 && d == std::trunc(d))) {
            return std::nullopt;
        }
        out = static_cast<std::int64_t>(d);
    } else {
        return std::nullopt;
    }
    if (out < min || out > max) {
        return std::nullopt;
    }
    return out;
}

/// An array of strings only.
template <class Json>
std::optional<std::vector<std::string>> json_string_list(const Json& value) {
    if (!value.is_array()) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    out.reserve(value.size());
    for (const auto& item : value) {
        if (!item.is_string()) {
            return std::nullopt;
        }
        out.push_back(item.template get<std::string>());
    }
    return out;
}

/// What a CNI network configuration is, decided as libcni and Multus do: a non-empty string
/// "type" makes a single plugin conf; otherwise a "plugins" array makes a conflist. Keys are
/// matched as Go's decoder matches them (find_key_go).
enum class NetworkConfigShape { Conf, ConfList, Neither };

NetworkConfigShape network_config_shape(const nlohmann::json& doc);

}  // namespace splitnet::util
