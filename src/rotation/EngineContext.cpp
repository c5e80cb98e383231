#include "EngineContext.h"

#include <chrono>

#include "rotator/core/CpuAccount.h"
#include "rotator/core/Errors.h"
#include "rotator/log/Logging.h"

namespace rotator::rotation
{

EngineContext::EngineContext(const config::Settings& settings_, api::TokenApi& api_,
                             store::Journal& journal_,
                             std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks_,
                             PendingFiles pending_, core::Clock& clock_)
    : settings(settings_), api(api_), journal(journal_), store(journal_.rows()),
      sinks(std::move(sinks_)), pending(std::move(pending_)), clock(clock_), roles(api_),
      workers(settings_, journal_, stop)
{
}

const config::CredentialSettings* EngineContext::credential(const std::string& name) const
{
    return settings.findCredential(name);
}

void EngineContext::crashPoint(std::string_view point) const
{
    if (crash)
    {
        crash(point);
    }
}

void EngineContext::observe(const std::string& credentialName, const std::string& result) const
{
    if (observer)
    {
        observer(credentialName, result);
    }
}

void EngineContext::event(const std::string& name, const std::string& credentialName,
                          const std::string& clientId, std::optional<std::int64_t> rotationId,
                          const std::string& detail)
{
    store::EventRow e;
    e.atMs = clock.nowMs();
    e.credential = credentialName;
    e.clientId = clientId;
    e.rotationId = rotationId;
    e.event = name;
    e.detail = detail;
    store.appendEvent(e);
}

std::optional<std::vector<std::string>> EngineContext::rolesOf(const config::CredentialSettings& c,
                                                               std::string& error)
{
    if (!c.adminToken)
    {
        return roles.resolve(c, error);
    }
    // From the list, not from configuration: the new admin token must be able to do all that
    // the old one could, and no more.
    const std::string id = api.adminClientId();
    const auto client = id.empty() ? std::nullopt : store.findClient(id);
    if (!client || client->roles.empty())
    {
        error = "the roles of the admin token's own client " + id +
                " are unknown (it is not in the inventory)";
        return std::nullopt;
    }
    return client->roles;
}

core::Outcome<void> EngineContext::deliverTo(sink::SecretSink& sink,
                                             const sink::Credential& secret) const
{
    const core::cpu_account::Scope account("sink-write");
    // Real time, whatever clock the engine runs on: this measures the store's I/O.
    const auto started = std::chrono::steady_clock::now();
    auto delivered = sink.deliver(secret);
    if (sinkObserver)
    {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        sinkObserver(sink.name(),
                     delivered                     ? "delivered"
                     : delivered.error().ambiguous ? "may_hold"
                                                   : "failed",
                     ms);
    }
    return delivered;
}

void EngineContext::setStage(store::RotationRow& rotation, Stage stage) const
{
    rotation.stage = stage;
    rotation.updatedMs = clock.nowMs();
    if (isTerminal(stage))
    {
        rotation.finishedMs = rotation.updatedMs;
    }
}

std::set<std::string> EngineContext::claimedClients() const
{
    std::set<std::string> claimed;
    for (const auto& row : store.listCredentials())
    {
        if (!row.currentClientId.empty())
        {
            claimed.insert(row.currentClientId);
        }
        if (!row.previousClientId.empty())
        {
            claimed.insert(row.previousClientId);
        }
    }
    return claimed;
}

bool EngineContext::inUse(const std::string& clientId) const
{
    return !clientId.empty() && clientId == api.adminClientId();
}

core::Outcome<void> EngineContext::deleteClient(const std::string& clientId)
{
    if (inUse(clientId))
    {
        return core::fail(core::FailureKind::Permanent,
                          "it is the client of the admin token in use");
    }
    return api.deleteClient(clientId);
}

Poco::Logger& logger()
{
    return Poco::Logger::get("rotation");
}

void note(Poco::Message::Priority priority, const std::string& text,
          const store::RotationRow& rotation, const std::string& clientId)
{
    log::logWith(logger(), priority, text,
                 {{"credential", rotation.credential},
                  {"clientId", clientId},
                  {"rotation", std::to_string(rotation.id)}});
}

Stage advanced(const store::RotationRow& rotation, StageEvent event, bool anySinkHolds)
{
    const auto to = transition(rotation.stage, event, anySinkHolds);
    if (!to)
    {
        throw core::InvariantError("rotation " + std::to_string(rotation.id) + ": illegal move " +
                                   std::string(toString(rotation.stage)) + " + " +
                                   std::string(toString(event)));
    }
    return *to;
}

} // namespace rotator::rotation
