#include "splitnet/log/logging.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "splitnet/cni/request.hpp"

namespace splitnet::log {
namespace {

spdlog::level::level_enum parse_level(std::string level) {
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (level == "debug" || level == "verbose" || level == "trace") {
        return spdlog::level::debug;
    }
    if (level == "info") {
        return spdlog::level::info;
    }
    if (level == "error") {
        return spdlog::level::err;
    }
    if (level == "panic" || level == "off") {
        return spdlog::level::critical;
    }
    return spdlog::level::warn;
}

std::string& context() {
    static std::string value = "splitnet";
    return value;
}

// "%*" prints the context as data. It used to be pasted into the pattern itself, where an ifname
// such as "e%d" became pattern flags (the day of the month) and could forge a line's layout.
class ContextFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& /*msg*/, const std::tm& /*time*/,
                spdlog::memory_buf_t& dest) override {
        const auto& text = context();
        dest.append(text.data(), text.data() + text.size());
    }

    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<ContextFlag>();
    }
};

void apply_pattern(spdlog::logger& logger) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<ContextFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %*: %v");
    logger.set_formatter(std::move(formatter));
}

void install(std::vector<spdlog::sink_ptr> sinks, spdlog::level::level_enum level) {
    auto logger = std::make_shared<spdlog::logger>("splitnet", sinks.begin(), sinks.end());
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);  // short-lived process: never lose a line
    apply_pattern(*logger);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace

void init_stderr() {
    install({std::make_shared<spdlog::sinks::stderr_sink_st>()}, spdlog::level::warn);
}

void init_stderr_threaded() {
    install({std::make_shared<spdlog::sinks::stderr_sink_mt>()}, spdlog::level::info);
}

void configure(const Options& options) {
    // Thread-safe sinks: a DEL deletes its attachments on several threads (verbs/run.cpp).
    std::vector<spdlog::sink_ptr> sinks;
    if (options.to_stderr) {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    if (!options.file.empty()) {
        try {
            sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file));
        } catch (const spdlog::spdlog_ex& e) {
            // A bad log path must not fail the pod; say so on stderr instead.
            sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
            install(sinks, parse_level(options.level));
            spdlog::warn("cannot open logFile {}: {}", options.file, e.what());
            return;
        }
    }
    install(std::move(sinks), parse_level(options.level));
}

void set_context(std::string_view verb, std::string_view container_id, std::string_view ifname) {
    // Read by ContextFlag at each line; escaped so no byte of it can start a new line.
    context() = cni::printable(fmt::format("splitnet {} {} {}", verb,
                                           container_id.empty() ? "-" : container_id,
                                           ifname.empty() ? "-" : ifname));
}

}  // namespace splitnet::log
