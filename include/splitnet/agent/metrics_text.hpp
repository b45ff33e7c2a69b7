#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace splitnet::agent {

/// Label name/value pairs of one sample, in the order they are printed.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { Counter, Gauge, Histogram };

/// Builds a Prometheus text exposition (format 0.0.4). Pure: the agent fills it from its
/// state on every scrape.
class Exposition {
public:
    /// "# HELP" and "# TYPE" lines; call once per family before its samples.
    void family(std::string_view name, MetricType type, std::string_view help);
    /// One sample line: `name` is the full series name (a histogram's "_bucket", "_sum", ...).
    void sample(std::string_view name, const Labels& labels, double value);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
};

/// Escapes a label value (backslash, double quote, newline), as the format requires.
std::string escape_label_value(std::string_view value);

/// A sample value: integers without a fraction, "+Inf"/"-Inf"/"NaN", else the shortest
/// round-tripping decimal.
std::string format_sample_value(double value);

/// A cumulative histogram with fixed upper bounds (seconds).
class Histogram {
public:
    explicit Histogram(std::vector<double> upper_bounds);

    void observe(double value);
    /// `name`_bucket{...,le="..."} for every bound and +Inf, then `name`_sum and `name`_count.
    void write(Exposition& out, std::string_view name, const Labels& labels) const;

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;  ///< per bucket, not cumulative
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

/// The buckets for CNI verb durations: ADD is 10 ms natively and seconds with a slow delegate.
std::vector<double> verb_duration_buckets();

}  // namespace splitnet::agent
