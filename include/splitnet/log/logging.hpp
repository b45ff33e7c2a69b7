#pragma once

#include <string>
#include <string_view>

namespace splitnet::log {

/// Installs the process-wide logger: stderr only, level warn. Call first in main (and in test
/// mains); until then spdlog has no default logger at all, so nothing can reach stdout.
void init_stderr();

/// As init_stderr, with a sink that locks per line: for `splitnet install`, whose node agent
/// logs from threads of its own. Call before any thread starts.
void init_stderr_threaded();

struct Options {
    std::string level = "warn";  ///< debug|verbose|info|warn|error|panic (Multus names accepted)
    std::string file;            ///< optional log file, appended
    bool to_stderr = true;
};

/// Reconfigures sinks and level once the config is known.
void configure(const Options& options);

/// Every line carries the verb, container ID and ifname.
void set_context(std::string_view verb, std::string_view container_id, std::string_view ifname);

}  // namespace splitnet::log
