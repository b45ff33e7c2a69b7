#include "splitnet/agent/metrics_text.hpp"

#include <cmath>

#include <fmt/format.h>

namespace splitnet::agent {

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
    const char* type_name = type == MetricType::Counter ? "counter"
                            : type == MetricType::Gauge ? "gauge"
                                                        : "histogram";
    // HELP escapes backslash and newline only.
    std::string escaped;
    for (const char c : help) {
        if (c == '\\') {
            escaped += "\\\\";
        } else if (c == '\n') {
            escaped += "\\n";
        } else {
            escaped += c;
        }
    }
    text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped, name, type_name);
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        bool first = true;
        for (const auto& [key, val] : labels) {
            if (!first) {
                text_ += ',';
            }
            first = false;
            text_ += fmt::format("{}=\"{}\"", key, escape_label_value(val));
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += format_sample_value(value);
    text_ += '\n';
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string format_sample_value(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        return fmt::format("{}", static_cast<long long>(value));
    }
    return fmt::format("{}", value);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) {
        ++i;
    }
    ++counts_[i];
    sum_ += value;
    ++count_;
}

void Histogram::write(Exposition& out, std::string_view name, const Labels& labels) const {
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += counts_[i];
        Labels with_le = labels;
        with_le.emplace_back("le", i < bounds_.size() ? format_sample_value(bounds_[i]) : "+Inf");
        out.sample(bucket, with_le, static_cast<double>(cumulative));
    }
    out.sample(fmt::format("{}_sum", name), labels, sum_);
    out.sample(fmt::format("{}_count", name), labels, static_cast<double>(count_));
}

std::vector<double> verb_duration_buckets() {
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace splitnet::agent
