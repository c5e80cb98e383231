#include "Program.h"

#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <iostream>
#include <stdexcept>

#include <Poco/Exception.h>

#include "Files.h"
#include "rotator/core/Errors.h"

namespace rotator::sim
{

namespace
{

constexpr int kExitUsage = 64;
constexpr int kExitFailure = 1;

} // namespace

int runSimulatorProgram(const std::string& name, const char* help,
                        const std::function<bool()>& parse,
                        const std::function<void(const ServeUntilSignal&)>& body)
{
    // Before any thread exists: the signals are then only ever delivered to sigwait below.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    const auto usage = [&](const std::string& message)
    {
        std::cerr << name << ": " << message << "\nTry '" << name << " --help'.\n";
        return kExitUsage;
    };
    try
    {
        if (parse())
        {
            std::cout << help;
            return 0;
        }
        body(
            [&](const Serving& serving)
            {
                if (!serving.portFile.empty())
                {
                    writeFileAtomically(serving.portFile, std::to_string(serving.port) + "\n",
                                        0644);
                }
                std::cout << name << " listening on " << serving.baseUrl
                          << (serving.detail.empty() ? "" : " " + serving.detail) << std::endl;
                int received = 0;
                sigwait(&signals, &received);
                std::cerr << name << ": signal " << received << ", stopping" << std::endl;
            });
        return 0;
    }
    catch (const core::UsageError& e)
    {
        return usage(e.what());
    }
    catch (const std::invalid_argument& e)
    {
        return usage(e.what());
    }
    catch (const Poco::Exception& e)
    {
        std::cerr << name << ": " << e.displayText() << std::endl;
        return kExitFailure;
    }
    catch (const std::exception& e)
    {
        std::cerr << name << ": " << e.what() << std::endl;
        return kExitFailure;
    }
}

} // namespace rotator::sim
