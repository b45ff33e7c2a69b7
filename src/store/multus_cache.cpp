#include "splitnet/store/multus_cache.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/error.hpp"
#include "splitnet/store/files.hpp"
#include "splitnet/util/files.hpp"
#include "splitnet/util/json.hpp"

namespace splitnet::store {
namespace {

using nlohmann::json;

// Written by Go Multus from untrusted pieces (annotations, NADs): bounded like them, with room
// for what Multus composed out of them.
constexpr util::JsonLimits kCacheLimits{util::kMaxResultBytes, util::kMaxComposedJsonDepth};

[[noreturn]] void undecodable(std::size_t index, std::string_view why) {
    throw cni::Error(cni::ErrorCode::DecodingFailure,
                     fmt::format("Multus cache element {}: {}", index, why));
}

// Go encodes []byte as standard base64 with padding.
std::optional<std::string> base64_decode(std::string_view text) {
    constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int count = 0;
    for (const char c : text) {
        const auto value = kAlphabet.find(c);
        if (value == std::string_view::npos) {
            return std::nullopt;
        }
        bits = (bits << 6U) | static_cast<std::uint32_t>(value);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> static_cast<unsigned>(count)) & 0xFFU));
        }
    }
    if (count >= 6) {  // a single leftover symbol cannot encode a byte
        return std::nullopt;
    }
    return out;
}

std::string string_field(const json& element, const char* key) {
    const auto it = element.find(key);
    return it != element.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings_field(const json& element, const char* key, std::size_t index) {
    const auto it = element.find(key);
    if (it == element.end() || it->is_null()) {
        return {};
    }
    if (!it->is_array()) {
        undecodable(index, fmt::format("\"{}\" is not a list", key));
    }
    std::vector<std::string> out;
    for (const auto& v : *it) {
        if (!v.is_string()) {
            undecodable(index, fmt::format("\"{}\" holds a non-string", key));
        }
        out.push_back(v.get<std::string>());
    }
    return out;
}

bool is_conflist(const json& element) {
    const auto list = element.find("ConfList");
    if (list == element.end() || !list->is_object()) {
        return false;
    }
    const auto plugins = list->find("plugins");
    return plugins != list->end() && plugins->is_array() && !plugins->empty();
}

// Multus runs a cached conflist that has no cniVersion with its own version.
std::string with_version(std::string config, const json& doc, std::string_view version) {
    const auto it = doc.find("cniVersion");
    if (version.empty() ||
        (it != doc.end() && it->is_string() && !it->get<std::string>().empty())) {
        return config;
    }
    if (it == doc.end()) {
        // Insert rather than re-encode: every other byte stays as the NAD author wrote it.
        const auto brace = config.find('{');
        config.insert(brace + 1, fmt::format("\"cniVersion\":{},", util::dump_json(json(version))));
        return config;
    }
    json copy = doc;
    copy["cniVersion"] = version;
    return util::dump_json(copy);
}

plan::Selection selection_of(const json& element, const std::string& name, std::size_t index) {
    plan::Selection s;
    const auto slash = name.find('/');
    if (slash == std::string::npos) {
        s.name = name;
    } else {
        s.namespace_ = name.substr(0, slash);
        s.name = name.substr(slash + 1);
    }
    s.interface = string_field(element, "ifnameRequest");
    s.ips = strings_field(element, "ipRequest", index);
    s.mac = string_field(element, "macRequest");
    s.infiniband_guid = string_field(element, "infinibandGUIDRequest");
    s.device_id = string_field(element, "deviceID");
    if (element.contains("default-route") && !element.at("default-route").is_null()) {
        s.default_route = strings_field(element, "default-route", index);
    }
    return s;
}

plan::Attachment attachment_of(const json& element, std::size_t index,
                               std::string_view runtime_ifname,
                               std::string_view default_cni_version) {
    if (!element.is_object()) {
        undecodable(index, "not an object");
    }
    const auto bytes = element.find("Bytes");
    if (bytes == element.end() || !bytes->is_string() || bytes->get<std::string>().empty()) {
        undecodable(index, "no \"Bytes\" (the delegate's configuration)");
    }
    auto config = base64_decode(bytes->get<std::string>());
    if (!config) {
        undecodable(index, "\"Bytes\" is not base64");
    }
    const auto doc = util::try_parse_json_bounded(*config, kCacheLimits).value_or(json());
    if (!doc.is_object()) {
        undecodable(index, "\"Bytes\" is not a JSON object");
    }

    plan::Attachment a;
    a.is_primary = index == 0;
    a.network = string_field(element, "Name");
    if (a.network.empty()) {
        a.network = string_field(doc, "name");
    }
    a.ifname = string_field(element, "ifnameRequest");
    if (a.ifname.empty()) {
        a.ifname = a.is_primary ? std::string(runtime_ifname) : fmt::format("net{}", index);
    }
    a.config = is_conflist(element) ? with_version(std::move(*config), doc, default_cni_version)
                                    : std::move(*config);

    // The capability arguments Multus passes for these requests (createRuntimeConf).
    const auto ips = strings_field(element, "ipRequest", index);
    if (!ips.empty()) {
        a.runtime_config["ips"] = ips;
    }
    for (const auto& [key, capability] :
         {std::pair{"macRequest", "mac"}, std::pair{"infinibandGUIDRequest", "infinibandGUID"},
          std::pair{"deviceID", "deviceID"}}) {
        if (auto value = string_field(element, key); !value.empty()) {
            a.runtime_config[capability] = std::move(value);
        }
    }
    if (!a.is_primary) {
        a.selection = selection_of(element, a.network, index);
    }
    return a;
}

bool safe_component(std::string_view part) {
    return !part.empty() && part != "." && part != ".." &&
           part.find('/') == std::string_view::npos && part.find('\0') == std::string_view::npos;
}

}  // namespace

std::vector<plan::Attachment> parse_multus_cache(std::string_view bytes,
                                                 std::string_view runtime_ifname,
                                                 std::string_view default_cni_version) {
    const auto doc = util::try_parse_json_bounded(bytes, kCacheLimits).value_or(json());
    if (!doc.is_array()) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         "Multus cache is not a JSON list of delegates");
    }
    std::vector<plan::Attachment> out;
    for (std::size_t i = 0; i < doc.size(); ++i) {
        out.push_back(attachment_of(doc[i], i, runtime_ifname, default_cni_version));
    }
    return out;
}

std::optional<std::vector<plan::Attachment>> read_multus_cache(
    const std::string& multus_cni_dir, std::string_view container_id,
    std::string_view runtime_ifname, std::string_view default_cni_version) {
    detail::require_container_id(container_id);
    const std::string path = fmt::format("{}/{}", multus_cni_dir, container_id);
    const auto content =
        util::read_file_if_exists(path, util::Symlinks::Refuse, util::kMaxResultBytes);
    if (!content) {
        return std::nullopt;
    }
    try {
        return parse_multus_cache(*content, runtime_ifname, default_cni_version);
    } catch (const cni::Error& e) {
        throw cni::Error(cni::ErrorCode::DecodingFailure,
                         fmt::format("cannot use Multus cache {}: {}", path, e.what()));
    }
}

void remove_multus_cache(const std::string& multus_cni_dir, std::string_view container_id) {
    detail::require_container_id(container_id);
    const std::string path = fmt::format("{}/{}", multus_cni_dir, container_id);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        util::io_error("remove Multus cache", path, errno);
    }
}

std::optional<nlohmann::json> read_libcni_result(const std::string& cache_dir,
                                                 std::string_view network_name,
                                                 std::string_view container_id,
                                                 std::string_view ifname) {
    if (!safe_component(network_name) || !safe_component(container_id) || !safe_component(ifname)) {
        spdlog::warn("not reading libcni result cache for {}/{}/{}: unsafe file name", network_name,
                     container_id, ifname);
        return std::nullopt;
    }
    const std::string path =
        fmt::format("{}/results/{}-{}-{}", cache_dir, network_name, container_id, ifname);
    std::optional<std::string> content;
    try {
        content = util::read_file_if_exists(path, util::Symlinks::Refuse, util::kMaxResultBytes);
    } catch (const cni::Error& e) {
        spdlog::warn("ignoring libcni result cache: {}", e.what());
        return std::nullopt;
    }
    if (!content) {
        return std::nullopt;
    }
    const auto doc = util::try_parse_json_bounded(*content, kCacheLimits).value_or(json());
    if (!doc.is_object() || !doc.contains("result") || !doc.at("result").is_object()) {
        spdlog::warn("ignoring libcni result cache {}: no result object in it", path);
        return std::nullopt;
    }
    return doc.at("result");
}

}  // namespace splitnet::store
