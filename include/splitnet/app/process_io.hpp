#pragma once

#include "splitnet/verbs/dispatch.hpp"

namespace splitnet::app {

/// The real process: getenv, stdin (bounded), stdout and stderr written with write(2).
verbs::Io process_io();

}  // namespace splitnet::app
