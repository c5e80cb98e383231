#include "rotator/app/RotatorApp.h"

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "rotator/cli/Commands.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"
#include "rotator/log/Logging.h"
#include "rotator/os/CoreDump.h"

namespace rotator::app
{

RotatorApp::RotatorApp(const cli::CommandTable& commands, cli::CommandLine commandLine,
                       std::optional<core::Secret> environmentToken)
    : _commands(commands), _commandLine(std::move(commandLine)),
      _environmentToken(std::move(environmentToken))
{
    if (_environmentToken)
    {
        // Held as long as the process, as the token sources' copies are: out of core dumps too.
        os::excludeFromCoreDumps(_environmentToken->reveal().data(), _environmentToken->size());
    }
}

void RotatorApp::initialize(Poco::Util::Application& self)
{
    // Logging must exist before the base class initialises subsystems; the real channel
    // replaces this one as soon as the settings are known.
    log::setupBootstrapLogging();
    Poco::Util::ServerApplication::initialize(self);
}

int RotatorApp::main(const std::vector<std::string>&)
{
    try
    {
        _settings = config::loadSettingsFile(_commandLine.configPath);
        log::setupLogging(_settings->log);
        core::SystemClock clock;
        cli::Environment env{std::cout,
                             std::cerr,
                             clock,
                             [this](const char* name) -> const char*
                             {
                                 if (std::string_view(name) == "ASTRA_TOKEN")
                                 {
                                     return _environmentToken ? _environmentToken->reveal().c_str()
                                                              : nullptr;
                                 }
                                 return std::getenv(name);
                             },
                             [&clock](const config::Settings& s, core::Secret token)
                             { return cli::makeAstraClient(s, std::move(token), clock); },
                             [this] { waitForTerminationRequest(); }};
        const int rc = _commands.run(_commandLine, *_settings, env);
        std::cout.flush();
        return rc;
    }
    catch (const core::ConfigError& e)
    {
        std::cerr << "configuration error: " << core::redactSecrets(e.what()) << "\n";
        return EXIT_CONFIG;
    }
    catch (const core::UsageError& e)
    {
        std::cerr << "usage error: " << e.what() << "\n";
        return EXIT_USAGE;
    }
    catch (const core::StartupError& e)
    {
        std::cerr << "error: " << core::redactSecrets(e.what()) << "\n";
        return EXIT_FAILURE;
    }
    catch (const core::StoreError& e)
    {
        std::cerr << "error: " << core::redactSecrets(e.what()) << "\n";
        return EXIT_FAILURE;
    }
    catch (const std::exception& e)
    {
        std::cerr << "error: " << core::redactSecrets(e.what()) << "\n";
        return EXIT_SOFTWARE;
    }
}

} // namespace rotator::app
