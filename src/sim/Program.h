#pragma once

// The command-line life every simulator shares (astra-devops-sim and the three entry points of
// astra-store-sim): signals, usage errors, --help, the port file, the banner, the wait for a
// stop signal and the exit codes.

#include <cstdint>
#include <functional>
#include <string>

namespace rotator::sim
{

/// What a started simulator tells the program.
struct Serving
{
    std::uint16_t port = 0;
    std::string baseUrl;
    std::string detail;   ///< shown after the URL, e.g. "(mount secret)"
    std::string portFile; ///< where to write the port once listening; empty: nowhere
};

/// Called by a simulator program's body once its simulator serves: writes the port file,
/// prints "NAME listening on URL DETAIL" and returns when SIGINT, SIGTERM or SIGQUIT arrives.
using ServeUntilSignal = std::function<void(const Serving&)>;

/// Runs one simulator command named `name` ("astra-store-sim vault"):
/// - blocks SIGINT, SIGTERM and SIGQUIT first, while no thread exists yet, so that only the
///   wait sees them, and ignores SIGPIPE;
/// - `parse()` reads the arguments and returns true when --help was asked (then `help` is
///   printed, exit 0); a core::UsageError or std::invalid_argument, from it or from `body`,
///   exits 64 with the message and a pointer to --help;
/// - `body(serve)` builds the simulator and calls `serve` while it lives;
/// - any other exception exits 1 with its message.
int runSimulatorProgram(const std::string& name, const char* help,
                        const std::function<bool()>& parse,
                        const std::function<void(const ServeUntilSignal&)>& body);

} // namespace rotator::sim
