#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include "RoleCache.h"
#include "WorkerPool.h"
#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Lifecycle.h"
#include "rotator/rotation/Outcomes.h"
#include "rotator/rotation/PendingFiles.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/Journal.h"

namespace rotator::rotation
{

// The lifecycle (core/Lifecycle.h, where the store's rows can hold it too) as the engine's own.
using core::CredentialState;
using core::isActive;
using core::isInProgress;
using core::isTerminal;
using core::SinkDelivery;
using core::Stage;
using core::StageEvent;
using core::stageFromString;
using core::transition;

/// What the parts of the rotation engine share: the settings, the API, the journal, the
/// sinks, the pending files, the clock, the hooks, the stop flag, the roles of the pass and
/// the worker pool; and the small steps every part takes (journal an event, set a stage,
/// pass a crash point).
///
/// Owned by `RotationEngine`; each part borrows it. Thread-safe as its members are: the store
/// serialises the workers' reads and writes (the runtime may have chosen group commit), the role
/// cache locks, `stop` is atomic, and the hooks are set before a pass and only read during it.
struct EngineContext
{
    EngineContext(const config::Settings& settings, api::TokenApi& api, store::Journal& journal,
                  std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks,
                  PendingFiles pending, core::Clock& clock);
    EngineContext(const EngineContext&) = delete;
    EngineContext& operator=(const EngineContext&) = delete;

    const config::CredentialSettings* credential(const std::string& name) const;
    /// Calls the crash hook (tests throw from it to simulate a crash at `point`).
    void crashPoint(std::string_view point) const;
    /// Tells the result observer how an attempt ended (for metrics).
    void observe(const std::string& credential, const std::string& result) const;
    /// Appends an event to the journal (inside the caller's step, when there is one).
    void event(const std::string& name, const std::string& credential, const std::string& clientId,
               std::optional<std::int64_t> rotationId, const std::string& detail);
    /// Writes a credential to a sink (charged to the "sink-write" CPU account).
    core::Outcome<void> deliverTo(sink::SecretSink& sink, const sink::Credential& secret) const;
    /// Sets the row's stage and update time (and finish time, for a terminal stage); the
    /// caller saves the row.
    void setStage(store::RotationRow& rotation, Stage stage) const;
    /// The role IDs a new client of `c` gets: its configured roles, resolved by the role cache,
    /// or, for the admin token, exactly those of the client whose token the API uses now.
    std::optional<std::vector<std::string>> rolesOf(const config::CredentialSettings& c,
                                                    std::string& error);
    /// Every credential's current and previous client.
    std::set<std::string> claimedClients() const;
    /// Whether `clientId` is the client of the admin token the API calls with now.
    bool inUse(const std::string& clientId) const;
    /// DELETEs a client, except the client of the admin token in use: that is refused with a
    /// permanent failure, since revoking it would lock the rotator out (its token may be the
    /// only live one, e.g. taken from a pending file). Every DELETE of the engine goes here.
    core::Outcome<void> deleteClient(const std::string& clientId);

    const config::Settings& settings;
    api::TokenApi& api;
    store::Journal& journal;  ///< durability: each step committed before the action after it
    store::StateStore& store; ///< the journal's rows (a write outside a step is its own step)
    std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
    PendingFiles pending;
    core::Clock& clock;
    CrashHook crash;
    ResultObserver observer;
    SinkObserver sinkObserver;
    std::atomic<bool> stop{false}; ///< set from another thread: no new rotation starts
    RoleCache roles;
    WorkerPool workers;
};

/// The "rotation" logger.
Poco::Logger& logger();

/// A log line about one rotation, with structured fields for the JSON log format.
void note(Poco::Message::Priority priority, const std::string& text,
          const store::RotationRow& rotation, const std::string& clientId);

/// Applies a stage event through the pure stage machine; an illegal move is a bug (throws
/// `core::InvariantError`).
Stage advanced(const store::RotationRow& rotation, StageEvent event, bool anySinkHolds);

} // namespace rotator::rotation
