#include "rotator/app/Runtime.h"

#include "rotator/app/TokenFileSink.h"
#include "rotator/config/TrustChecks.h"
#include "rotator/sink/SinkFactory.h"

namespace rotator::app
{

Runtime::Runtime(const config::Settings& settings, cli::Environment& env, Mode mode)
    : _dir(settings.state.dir)
{
    // A hook program or CA file someone else could change is refused before anything runs.
    config::checkTrustedInputs(settings);
    if (mode == Mode::Write)
    {
        _dir.prepare();
        _dir.lock();
        _store = std::make_unique<store::SqliteStateStore>(_dir.databasePath());
        cli::routeNotifications(*_store, settings);
    }
    else
    {
        _store = cli::openStoreForReading(settings);
    }
    _journal = store::makeJournal(*_store, settings.scheduler.concurrency);
    _api = cli::connectApi(settings, env);
    std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
    for (const auto& s : settings.sinks)
    {
        sinks[s.name] = s.name == config::kTokenFileSink ? std::make_unique<TokenFileSink>(s, *_api)
                                                         : sink::makeSink(s);
    }
    _engine = std::make_unique<rotation::RotationEngine>(
        settings, *_api, *_journal, std::move(sinks), rotation::PendingFiles(_dir.pendingDir()),
        env.clock);
}

Runtime::~Runtime()
{
    // Reverse order of construction: the engine uses the API, the store and the lock.
    _engine.reset();
    _api.reset();
    _journal.reset();
    _store.reset();
}

} // namespace rotator::app
