#include "splitnet/app/command_line.hpp"

#include <fmt/format.h>

namespace splitnet::app {

CommandLine parse_command_line(const std::vector<std::string>& argv) {
    CommandLine line;
    if (argv.empty()) {
        return line;  // the CNI plugin
    }
    const std::string_view first = argv.front();
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    // Subcommands with flags of their own: those are parsed (strictly) by their module.
    if (first == "install" || first == "verify" || first == "uninstall") {
        line.subcommand = first == "install"  ? Subcommand::Install
                          : first == "verify" ? Subcommand::Verify
                                              : Subcommand::Uninstall;
        line.args = rest;
        return line;
    }
    const bool is_help = first == "help" || first == "--help" || first == "-h";
    const bool is_version = first == "version" || first == "--version";
    if ((is_help || is_version) && !rest.empty()) {
        line.subcommand = Subcommand::Invalid;
        line.problem = fmt::format("{} takes no arguments, got \"{}\"", first, rest.front());
        return line;
    }
    if (is_help) {
        line.subcommand = Subcommand::Help;
    } else if (is_version) {
        line.subcommand = Subcommand::Version;
    } else {
        line.subcommand = Subcommand::Invalid;
        line.problem = fmt::format("unknown subcommand \"{}\"", first);
    }
    return line;
}

std::string usage_text() {
    return "usage: splitnet [subcommand]\n"
           "\n"
           "Without a subcommand, splitnet is a CNI plugin: the container runtime sets "
           "CNI_COMMAND\n"
           "and the other CNI_* variables and writes the network configuration on stdin.\n"
           "\n"
           "subcommands:\n"
           "  install [flags]   install splitnet on this node and keep its config current\n"
           "                    (`splitnet install --help` lists the flags)\n"
           "  verify [flags]    check that this pod's netns has the VPN attachment and its\n"
           "                    fail-closed egress policy; exit 1 naming what is missing\n"
           "                    (an init container; `splitnet verify --help`)\n"
           "  uninstall [flags] remove what install wrote (binary, node config, kubeconfig);\n"
           "                    takes install's directory flags (`splitnet uninstall --help`)\n"
           "  version           print the version and the CNI versions supported\n"
           "  help              print this text\n";
}

}  // namespace splitnet::app
