#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace splitnet::app {

/// What the process was asked to be. A container runtime runs the plugin with no argument at
/// all (libcni passes only argv[0]); every other use names a subcommand.
enum class Subcommand {
    Plugin,     ///< no argument: one CNI invocation (env + stdin)
    Install,    ///< `install [flags]`: the node agent; its flags are parsed by install/
    Verify,     ///< `verify [flags]`: the pod's init-container check (agent/)
    Uninstall,  ///< `uninstall [flags]`: removes what install wrote (install/)
    Help,       ///< `help`, `--help`, `-h`: usage on stdout, exit 0
    Version,    ///< `version`, `--version`: the version on stdout, exit 0
    Invalid,    ///< anything else: usage on stderr, exit 2
};

struct CommandLine {
    Subcommand subcommand = Subcommand::Plugin;
    std::vector<std::string> args;  ///< the subcommand's own arguments
    std::string problem;            ///< why the command line is Invalid
};

/// Pure: argv without argv[0]. Strict, so that a typo in an init container or a node image's
/// script fails loudly instead of running the plugin (which, without CNI_COMMAND, exits 0).
CommandLine parse_command_line(const std::vector<std::string>& argv);

/// The top-level usage text: every subcommand, one line each.
std::string usage_text();

/// Exit code for an invalid command line (as GNU tools and Go's flag package).
inline constexpr int kUsageExitCode = 2;

}  // namespace splitnet::app
