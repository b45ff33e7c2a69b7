// splitnet: the CNI entry point. Builds the real adapters and hands over to verbs::run; with the
// argument `install` (never given by a container runtime), installs splitnet on a node instead.
#include <string_view>
#include <vector>

#include "splitnet/app/process_io.hpp"
#include "splitnet/app/wiring.hpp"
#include "splitnet/install/installer.hpp"
#include "splitnet/log/logging.hpp"
#include "splitnet/verbs/dispatch.hpp"

int main(int argc, char** argv) {
    splitnet::log::init_stderr();
    const auto io = splitnet::app::process_io();
    if (argc > 1 && std::string_view(argv[1]) == "install") {
        return splitnet::install::run_install(std::vector<std::string>(argv + 2, argv + argc),
                                              io.getenv);
    }
    // verbs::run catches everything; this covers building the adapters around it. An exception
    // escaping main would abort with nothing on stdout, which a runtime cannot report.
    try {
        return splitnet::app::run_plugin(io);
    } catch (...) {
        io.write_stdout(splitnet::verbs::kLastResortError);
        return 1;
    }
}
