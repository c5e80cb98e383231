#include "rotator/app/RotatorApp.h"

#include <cstdlib>
#include <iostream>

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

#include <Poco/Logger.h>

#include "rotator/admin/AdminServer.h"
#include "rotator/admin/Metrics.h"
#include "rotator/app/Runtime.h"
#include "rotator/cli/Commands.h"
#include "rotator/schedule/Scheduler.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"
#include "rotator/log/Logging.h"

namespace rotator::app
{

RotatorApp::RotatorApp(cli::CommandLine commandLine) : _commandLine(std::move(commandLine)) {}

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
        cli::Environment env{std::cout, std::cerr, clock, [](const char* name) {
                                 return std::getenv(name);
                             },
                             [&clock](const config::Settings& s, core::Secret token) {
                                 return cli::makeAstraClient(s, std::move(token), clock);
                             }};
        const std::string& command = _commandLine.command;
        int rc = 0;
        if (command == "serve")
        {
            rc = serve(env);
        }
        else if (command == "run-once" || command == "rotate" || command == "plan" ||
                 command == "retire")
        {
            rc = runEngineCommand(_commandLine, *_settings, env);
        }
        else
        {
            rc = cli::runCommand(_commandLine, *_settings, env);
        }
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

int RotatorApp::serve(cli::Environment& env)
{
    auto& log = Poco::Logger::get("serve");
    for (const auto& w : _settings->warnings)
    {
        log.warning(w);
    }
    // The metrics count what the API client and the engine report, so they are built first and
    // destroyed last; serve's client is the production one with an observer.
    admin::Metrics metrics;
    cli::Environment serveEnv = env;
    serveEnv.makeApi = [&env, &metrics](const config::Settings& s, core::Secret token)
    { return cli::makeAstraClient(s, std::move(token), env.clock, metrics.apiObserver()); };
    Runtime runtime(*_settings, serveEnv, Runtime::Mode::Write);
    runtime.engine().setResultObserver(metrics.rotationObserver());
    schedule::Scheduler scheduler(runtime.engine(), env.clock,
                                  {.syncIntervalMs = _settings->scheduler.syncIntervalMs,
                                   .retryBackoffMs = _settings->scheduler.retryBackoffMs});

    // Started before the scheduler thread and stopped after it (reverse order).
    admin::SchedulerAdapter control(scheduler);
    std::unique_ptr<admin::AdminServer> adminServer;
    if (!_settings->admin.listen.empty())
    {
        adminServer = std::make_unique<admin::AdminServer>(*_settings, runtime.databasePath(),
                                                           control, metrics, env.clock);
        adminServer->start();
    }
    std::thread worker([&scheduler] { scheduler.run(); });
    // SIGHUP is blocked in every thread (main.cpp); this one waits for it (without waking up
    // in between: an idle serve sleeps) and reopens the log file. Stopping sends it one more.
    std::atomic<bool> stopping{false};
    std::thread hangups([&stopping] {
        sigset_t hup;
        sigemptyset(&hup);
        sigaddset(&hup, SIGHUP);
        int signal = 0;
        while (sigwait(&hup, &signal) == 0 && !stopping)
        {
            if (log::reopenLogFile())
            {
                Poco::Logger::get("serve").information("SIGHUP: log file reopened");
            }
        }
    });
    log.information("serving %z credential(s) from %s", _settings->credentials.size(),
                    _settings->state.dir);
    waitForTerminationRequest();
    log.information("termination requested: finishing the current step");
    scheduler.stop();
    worker.join();
    stopping = true;
    pthread_kill(hangups.native_handle(), SIGHUP);
    hangups.join();
    if (adminServer)
    {
        adminServer->stop();
    }
    log.information("stopped");
    return EXIT_OK;
}

} // namespace rotator::app
