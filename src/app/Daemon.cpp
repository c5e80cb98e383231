#include "rotator/app/Daemon.h"

#include <csignal>
#include <stdexcept>
#include <utility>

#include <pthread.h>

#include <Poco/Logger.h>

#include "rotator/log/Logging.h"

namespace rotator::app
{

namespace
{

/// The caller's environment, whose API client reports to `metrics`.
cli::Environment metered(cli::Environment env, Daemon::ApiFactory makeApi, admin::Metrics& metrics)
{
    if (!makeApi)
    {
        core::Clock& clock = env.clock;
        makeApi =
            [&clock](const config::Settings& s, core::Secret token, api::RequestObserver observer)
        { return cli::makeAstraClient(s, std::move(token), clock, std::move(observer)); };
    }
    env.makeApi =
        [makeApi = std::move(makeApi), &metrics](const config::Settings& s, core::Secret token)
    { return makeApi(s, std::move(token), metrics.apiObserver()); };
    return env;
}

/// Waits for SIGHUP (without waking up in between: an idle daemon sleeps) and reopens the log
/// file (logrotate), until a SIGHUP finds `stopping` set.
void reopenLogOnHangup(const std::atomic<bool>& stopping)
{
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
}

int serve(const cli::CommandLine&, const config::Settings& settings, cli::Environment& env)
{
    if (!env.waitForTermination)
    {
        throw std::logic_error("serve needs a way to wait for termination");
    }
    auto& log = Poco::Logger::get("serve");
    for (const auto& w : settings.warnings)
    {
        log.warning(w);
    }
    Daemon daemon(settings, env);
    daemon.start();
    log.information("serving %z credential(s) from %s", settings.credentials.size(),
                    settings.state.dir);
    env.waitForTermination();
    log.information("termination requested: finishing the current step");
    daemon.stop();
    log.information("stopped");
    return 0;
}

} // namespace

Daemon::Daemon(const config::Settings& settings, cli::Environment& env, ApiFactory makeApi)
    : _env(metered(env, std::move(makeApi), _metrics)),
      _runtime(settings, _env, Runtime::Mode::Write),
      _scheduler(_runtime.engine(), env.clock,
                 {.syncIntervalMs = settings.scheduler.syncIntervalMs,
                  .retryBackoffMs = settings.scheduler.retryBackoffMs}),
      _control(_scheduler)
{
    _runtime.engine().setResultObserver(_metrics.rotationObserver());
    _runtime.engine().setSinkObserver(_metrics.sinkObserver());
    if (!settings.admin.listen.empty())
    {
        _admin = std::make_unique<admin::AdminServer>(settings, _runtime.databasePath(), _control,
                                                      _metrics, env.clock);
    }
    if (!settings.notifiers.empty())
    {
        std::vector<std::string> warnings;
        _notifier = std::make_unique<notify::Notifier>(
            settings.notifiers, _runtime.rows(), env.clock, notify::Notifier::Options{}, warnings);
        for (const auto& w : warnings)
        {
            Poco::Logger::get("serve").warning(w);
        }
        _notifier->setObserver(_metrics.notificationObserver());
        _runtime.onNotificationQueued([notifier = _notifier.get()] { notifier->wake(); });
    }
}

Daemon::~Daemon()
{
    stop();
}

void Daemon::start()
{
    if (_started)
    {
        throw std::logic_error("the daemon was started already");
    }
    _started = true;
    if (_admin)
    {
        _admin->start();
    }
    if (_notifier)
    {
        // First: it sends what a previous run left queued while the first pass starts.
        _notifying = std::thread([this] { _notifier->run(); });
    }
    _worker = std::thread([this] { _scheduler.run(); });
    // The SIGHUP thread must have SIGHUP blocked from its first instruction, or the signal that
    // stops it would take the default action (end the process). `main` blocks it in every
    // thread; a test process does not, so block it here around the thread's creation.
    sigset_t hup;
    sigset_t previous;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, &previous);
    _hangups = std::thread(reopenLogOnHangup, std::cref(_stopping));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void Daemon::stop()
{
    if (!_started || _stopped)
    {
        return;
    }
    _stopped = true;
    if (_hangups.joinable())
    {
        _stopping = true;
        pthread_kill(_hangups.native_handle(), SIGHUP);
        _hangups.join();
    }
    _scheduler.stop();
    if (_worker.joinable())
    {
        _worker.join();
    }
    if (_notifying.joinable())
    {
        _notifier->stop();
        _notifying.join();
    }
    if (_admin)
    {
        _admin->stop();
    }
}

std::uint16_t Daemon::adminPort() const
{
    return _admin ? _admin->port() : 0;
}

cli::Command serveCommand()
{
    return {.name = "serve",
            .synopsis = "serve                      run the scheduler until SIGTERM/SIGINT",
            .run = serve};
}

} // namespace rotator::app
