#pragma once

#include <functional>
#include <memory>
#include <string>

#include "rotator/api/TokenApi.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/rotation/RotationEngine.h"
#include "rotator/store/Journal.h"
#include "rotator/store/SqliteStateStore.h"
#include "rotator/store/StateDir.h"

namespace rotator::app
{

/// Constructs the long-lived parts in dependency order (state directory and its lock, store,
/// its journal, API client, sinks, pending files, engine) and destroys them in reverse. The
/// journal group-commits the steps of concurrent rotations (`GroupCommitJournal`) when
/// scheduler.concurrency allows more than one, else commits one transaction per step.
///
/// `Mode::Write` takes the exclusive lock on the state directory first, so a second writer
/// fails before touching anything; `Mode::ReadOnly` (for `plan`) opens the database read-only
/// and takes no lock. Throws core::ConfigError / core::StoreError with a message naming the
/// problem. Not thread-safe itself; the engine it owns is.
class Runtime
{
public:
    enum class Mode
    {
        Write,
        ReadOnly
    };

    Runtime(const config::Settings& settings, cli::Environment& env, Mode mode);
    ~Runtime();

    /// The rows the engine wrote, read through its journal (which serialises the connection).
    const store::StateStore& rows() const { return _journal->rows(); }
    /// The same rows, to write: the notifier marks what it sent.
    store::StateStore& rows() { return _journal->rows(); }
    /// `queued` runs each time a committed transaction queued a notification (Write mode).
    void onNotificationQueued(std::function<void()> queued)
    {
        _store->onNotificationQueued(std::move(queued));
    }
    api::TokenApi& api() { return *_api; }
    rotation::RotationEngine& engine() { return *_engine; }
    std::string databasePath() const { return _dir.databasePath(); }

private:
    store::StateDir _dir;
    std::unique_ptr<store::SqliteStateStore> _store;
    std::unique_ptr<store::Journal> _journal;
    std::unique_ptr<api::TokenApi> _api;
    std::unique_ptr<rotation::RotationEngine> _engine;
};

} // namespace rotator::app
