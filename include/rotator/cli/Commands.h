#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <vector>

#include "rotator/api/AstraClient.h"
#include "rotator/api/TokenApi.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Secret.h"
#include "rotator/store/SqliteStateStore.h"

namespace rotator::cli
{

/// Everything a command touches outside the configuration, injected so tests can run commands
/// with a fake API, a fake clock and captured output.
struct Environment
{
    std::ostream& out;
    std::ostream& err;
    core::Clock& clock;
    std::function<const char*(const char*)> getenv;
    /// Builds the API client; the default is `AstraClient` over HTTPS.
    std::function<std::unique_ptr<api::TokenApi>(const config::Settings&, core::Secret)> makeApi;
    /// `serve` only: blocks until the process is asked to stop (the application's
    /// `waitForTerminationRequest`: SIGTERM, SIGINT, SIGQUIT).
    std::function<void()> waitForTermination = {};
};

/// The production API factory. `observer` sees every HTTP exchange (the daemon's metrics).
std::unique_ptr<api::TokenApi> makeAstraClient(const config::Settings& settings,
                                               core::Secret adminToken, core::Clock& clock,
                                               api::RequestObserver observer = {});

/// Opens the database for a command that must not write; a missing database is reported
/// (core::StoreError), never created.
std::unique_ptr<store::SqliteStateStore> openStoreForReading(const config::Settings& settings);

/// Every writer (`serve`, and a command run without it) queues the notifications of the events
/// it records, for `notify.*` as configured: the daemon sends them, now or when it next starts.
void routeNotifications(store::SqliteStateStore& store, const config::Settings& settings);

/// Loads the admin token (printing its warnings to `env.err`) and builds the API client.
std::unique_ptr<api::TokenApi> connectApi(const config::Settings& settings, Environment& env);

/// The commands that need no engine, in `--help` order: `sync`, `status`, `ages`, `history`,
/// `check-config`, `migrate`. `app::commandTable()` puts them in the whole table.
std::vector<Command> oneShotCommands();

} // namespace rotator::cli
