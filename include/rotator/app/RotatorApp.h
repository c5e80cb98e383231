#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Poco/Util/ServerApplication.h>

#include "rotator/cli/CommandLine.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Secret.h"

namespace rotator::app
{

/// The `astra-rotator` process: a Poco ServerApplication that loads the settings, sets up
/// logging and runs one command from the table (for `serve`, the daemon until a termination
/// request).
///
/// Constructed once in `main()` after the command line was parsed; never in tests (Poco allows
/// one Application per process), which run commands from `commandTable()` (Commands.h) and
/// build a `Daemon` directly. Every exception ends here as a message on stderr and an exit code
/// (PRODUCT.md §6).
class RotatorApp final : public Poco::Util::ServerApplication
{
public:
    /// `commands` (`commandTable()`) must outlive the application. `environmentToken` is
    /// ASTRA_TOKEN, taken out of the environment by main (os::takeEnvironmentSecret): the
    /// commands see it as that variable and nothing else does; its pages are kept out of core
    /// dumps (os/CoreDump).
    RotatorApp(const cli::CommandTable& commands, cli::CommandLine commandLine,
               std::optional<core::Secret> environmentToken);

protected:
    void initialize(Poco::Util::Application& self) override;
    int main(const std::vector<std::string>& args) override;

private:
    const cli::CommandTable& _commands;
    cli::CommandLine _commandLine;
    std::optional<config::Settings> _settings;
    std::optional<core::Secret> _environmentToken;
};

} // namespace rotator::app
