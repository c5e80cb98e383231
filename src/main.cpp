// astra-rotator: the thin executable. All logic lives in rotator_core.

#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <pthread.h>

#include "rotator/app/Commands.h"
#include "rotator/app/RotatorApp.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/core/CpuAccount.h"
#include "rotator/core/Errors.h"
#include "rotator/os/ProcessHardening.h"

int main(int argc, char** argv)
{
    // Before any secret is read: no core file, and /proc/<pid>/{environ,mem} closed to a
    // process of our own uid (a hook, say). The admin token then leaves the environment, so
    // that neither /proc/<pid>/environ nor anything we start can read it there.
    for (const auto& problem : rotator::os::hardenProcess())
    {
        std::cerr << "warning: " << problem << "\n";
    }
    std::optional<rotator::core::Secret> environmentToken =
        rotator::os::takeEnvironmentSecret("ASTRA_TOKEN");
    // Orphaned descendants of a hook (setsid, double fork) reparent to us, where they can be
    // found and killed when the hook ends.
    rotator::os::becomeChildSubreaper();

    // Before any thread exists: block the termination signals so that every thread inherits
    // the mask and only ServerApplication::waitForTerminationRequest() receives them (a
    // SIGTERM during start-up would otherwise kill the process mid-step), and ignore SIGPIPE
    // (a peer closing a socket or an exec sink closing its stdin is an error value, not death).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGQUIT);
    sigaddset(&signals, SIGHUP); // serve reopens its log file on it (logrotate)
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A parent (nohup, some supervisors) may have left SIGHUP ignored, and an ignored signal is
    // discarded instead of waiting for sigwait: restore the default (it stays blocked).
    std::signal(SIGHUP, SIG_DFL);
    std::signal(SIGPIPE, SIG_IGN);

    const rotator::cli::CommandTable commands = rotator::app::commandTable();
    rotator::cli::CommandLine commandLine;
    try
    {
        commandLine = commands.parse(std::vector<std::string>(argv + 1, argv + argc));
    }
    catch (const rotator::core::UsageError& e)
    {
        std::cerr << "usage error: " << e.what() << "\n";
        return 64;
    }
    if (commandLine.help)
    {
        std::cout << commands.usage();
        return 0;
    }
    if (commandLine.version)
    {
        std::cout << "astra-rotator 0.1.0\n";
        return 0;
    }
    rotator::app::RotatorApp app(commands, commandLine, std::move(environmentToken));
    // Poco sees no arguments: the command line is ours, and Poco's own options (--daemon,
    // --pidfile) do not apply under systemd's Type=simple.
    char* pocoArgv[] = {argv[0], nullptr};
    int rc = 0;
    {
        const rotator::core::cpu_account::Scope account("main");
        rc = app.run(1, pocoArgv);
    }
    rotator::core::cpu_account::report(std::cerr); // only in a ROTATOR_CPU_ACCOUNT build
    return rc;
}
