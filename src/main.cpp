// splitnet: the CNI entry point. Builds the real adapters and hands over to verbs::run.
#include "splitnet/app/process_io.hpp"
#include "splitnet/app/wiring.hpp"
#include "splitnet/log/logging.hpp"
#include "splitnet/verbs/dispatch.hpp"

int main() {
    splitnet::log::init_stderr();
    return splitnet::app::run_plugin(splitnet::app::process_io());
}
