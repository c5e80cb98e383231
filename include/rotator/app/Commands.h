#pragma once

#include <vector>

#include "rotator/cli/CommandTable.h"

namespace rotator::app
{

/// `run-once`, `rotate NAME`, `retire NAME`, `plan`: the commands that drive the engine once,
/// each on a Runtime of its own (`plan` read-only), in `--help` order. They live in app/
/// because they need the Runtime.
std::vector<cli::Command> engineCommands();

/// Every command of `astra-rotator` in `--help` order: `serve` (Daemon.h), the engine
/// commands, then cli's one-shot commands (`cli::oneShotCommands`). `main()` parses with it
/// and `RotatorApp` runs the parsed command from it; tests run commands from it too.
cli::CommandTable commandTable();

} // namespace rotator::app
