// splitnet: the CNI entry point. Without arguments (as every container runtime runs it) it is
// the plugin; a subcommand (`install`, `verify`, `uninstall`, `help`, `version`) makes it a tool
// instead. Anything else is refused with exit code 2, so that a typo never passes silently.
#include <string>
#include <vector>

#include "splitnet/agent/verify_command.hpp"
#include "splitnet/app/command_line.hpp"
#include "splitnet/app/process_io.hpp"
#include "splitnet/app/wiring.hpp"
#include "splitnet/install/installer.hpp"
#include "splitnet/log/logging.hpp"
#include "splitnet/verbs/dispatch.hpp"

int main(int argc, char** argv) {
    namespace app = splitnet::app;
    splitnet::log::init_stderr();
    const auto io = app::process_io();
    const auto line = app::parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    switch (line.subcommand) {
        case app::Subcommand::Plugin:
            // verbs::run catches everything; this covers building the adapters around it. An
            // exception escaping main would abort with nothing on stdout, which a runtime cannot
            // report.
            try {
                return app::run_plugin(io);
            } catch (...) {
                io.write_stdout(splitnet::verbs::kLastResortError);
                return 1;
            }
        case app::Subcommand::Install:
            return splitnet::install::run_install(line.args, io.getenv);
        case app::Subcommand::Verify:
            return splitnet::agent::run_verify(line.args);
        case app::Subcommand::Uninstall:
            return splitnet::install::run_uninstall(line.args);
        case app::Subcommand::Help:
            io.write_stdout(app::usage_text());
            return 0;
        case app::Subcommand::Version:
            io.write_stdout(splitnet::verbs::about_text());
            return 0;
        case app::Subcommand::Invalid:
            break;
    }
    io.write_stderr("splitnet: " + line.problem + "\n\n" + app::usage_text());
    return app::kUsageExitCode;
}
