#include "RotationAttempt.h"

#include <algorithm>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"

namespace rotator::rotation
{

namespace
{

constexpr std::int64_t kMaxBackoffMs = 24 * 3600'000LL;

} // namespace

store::RotationRow RotationAttempt::start(const config::CredentialSettings& c,
                                          std::optional<std::string> trigger, bool noGrace)
{
    store::RotationRow rotation;
    std::string error;
    if (!_ctx.rolesOf(c, error))
    {
        rotation.error = error;
        return rotation; // id 0: not started
    }
    _ctx.journal.commit(
        "planned + mint window + credential rotating",
        [&]
        {
            auto row = _ctx.store.findCredential(c.name);
            if (!row)
            {
                _ctx.store.ensureCredentials({c.name}, _ctx.clock.nowMs());
                row = _ctx.store.findCredential(c.name);
            }
            // A current client that is no longer listed is dead: its replacement is a bootstrap,
            // with nothing to revoke.
            const bool currentGone = !row->currentClientId.empty() && [&]
            {
                const auto client = _ctx.store.findClient(row->currentClientId);
                return client && client->goneElsewhere();
            }();
            if (!trigger)
            {
                trigger = row->currentClientId.empty() || currentGone ? "bootstrap" : "schedule";
            }
            rotation = _ctx.store.beginRotation(c.name, *trigger,
                                                currentGone ? std::string() : row->currentClientId,
                                                _ctx.clock.nowMs());
            rotation.noGrace = noGrace;
            // The mint window is journaled before the POST (mint follows at once, in this commit):
            // it is what attributes a lost create.
            rotation.mintStartedMs = _ctx.clock.nowMs();
            rotation.attempts = 1;
            rotation.updatedMs = *rotation.mintStartedMs;
            _ctx.store.saveRotation(rotation);
            row->state = CredentialState::Rotating;
            row->lastRotationId = rotation.id;
            row->updatedMs = _ctx.clock.nowMs();
            _ctx.store.saveCredential(*row);
        });
    note(Poco::Message::PRIO_INFORMATION,
         "rotation " + std::to_string(rotation.id) + " of " + c.name + " started (" + *trigger +
             ")",
         rotation, rotation.oldClientId);
    _ctx.crashPoint("planned");
    return rotation;
}

MintOutcome RotationAttempt::mint(const config::CredentialSettings& c, store::RotationRow& rotation,
                                  PassReport& report)
{
    std::string error;
    const auto roles = _ctx.rolesOf(c, error);
    if (!roles)
    {
        _ctx.setStage(rotation, advanced(rotation, StageEvent::Failed, false));
        rotation.error = error;
        _ctx.store.saveRotation(rotation);
        fail(c.name, &rotation, error, Stage::Planned, report);
        return {MintOutcome::Kind::Failed, std::nullopt, error};
    }
    core::CreateRequest request;
    request.roleIds = *roles;
    if (_ctx.settings.astra.describeTokens)
    {
        request.description = rotation.marker;
    }
    if (c.expiryMs)
    {
        request.tokenExpiry = core::formatRfc3339Seconds(_ctx.clock.nowMs() + *c.expiryMs);
    }
    if (!rotation.mintStartedMs)
    {
        throw core::InvariantError("rotation " + std::to_string(rotation.id) +
                                   " would create a client without a journaled mint window");
    }
    _ctx.crashPoint("before-create");

    auto created = _ctx.api.createClient(request);
    _ctx.crashPoint("after-create");
    // A POST is never retried blindly: the caller finds out from the list what happened.
    const auto ambiguous = [&](const std::string& why)
    {
        rotation.error = why;
        rotation.updatedMs = _ctx.clock.nowMs();
        _ctx.store.saveRotation(rotation);
        logger().warning("rotation %Ld of %s: %s; reconciling by listing",
                         static_cast<Poco::Int64>(rotation.id), c.name, why);
        return MintOutcome{MintOutcome::Kind::Ambiguous, std::nullopt, why};
    };
    if (!created)
    {
        const auto& f = created.error();
        rotation.mintFinishedMs = _ctx.clock.nowMs();
        if (f.ambiguous)
        {
            return ambiguous("create outcome unknown: " + f.message);
        }
        rotation.error = "create failed: " + f.message;
        _ctx.setStage(rotation, advanced(rotation, StageEvent::Failed, false));
        _ctx.store.saveRotation(rotation);
        fail(c.name, &rotation, *rotation.error, Stage::Planned, report);
        return {MintOutcome::Kind::Failed, std::nullopt, *rotation.error};
    }

    rotation.mintFinishedMs = _ctx.clock.nowMs();
    if (_ctx.store.findClient(created->clientId) || created->clientId == _ctx.api.adminClientId() ||
        _ctx.claimedClients().count(created->clientId) != 0)
    {
        // A fresh client cannot be one we already know: the answer is wrong, and whatever the
        // server really created is found by listing. The known client is never revoked.
        return ambiguous("create outcome unknown: the answer named client " + created->clientId +
                         ", which existed before this create; answer refused");
    }
    const sink::Credential secret = sink::makeCredential(c.name, *created);
    auto problem = api::checkCreatedClient(*created, request);
    core::Outcome<void> pendingWritten =
        problem ? _ctx.pending.write(rotation.id, secret) : core::Outcome<void>();
    if (!problem || !pendingWritten)
    {
        // We hold a client we must not use (failed checks) or cannot keep (no pending file):
        // journal its ID first; the caller's reconcile then revokes it.
        const std::string why =
            !problem ? problem.error().message
                     : "cannot write the pending file, so the new secret could be lost: " +
                           pendingWritten.error().message;
        rotation.newClientId = created->clientId;
        rotation.error = why;
        rotation.updatedMs = _ctx.clock.nowMs();
        _ctx.store.saveRotation(rotation);
        _ctx.pending.remove(rotation.id);
        return {MintOutcome::Kind::Ambiguous, std::nullopt, why};
    }
    _ctx.crashPoint("after-pending");

    _ctx.journal.commit("minted + client recorded + created",
                        [&]
                        {
                            _ctx.setStage(rotation, advanced(rotation, StageEvent::Minted, false));
                            rotation.newClientId = created->clientId;
                            rotation.orgId = created->orgId;
                            rotation.error.reset();
                            _ctx.store.saveRotation(rotation);
                            core::ClientInfo info;
                            info.clientId = created->clientId;
                            info.roles = created->roles;
                            info.generatedOn = created->generatedOn.empty()
                                                   ? core::formatRfc3339Ms(rotation.updatedMs)
                                                   : created->generatedOn;
                            info.generatedOnMs = created->generatedOn.empty()
                                                     ? rotation.updatedMs
                                                     : created->generatedOnMs;
                            info.description = request.description;
                            info.tokenExpiry = request.tokenExpiry;
                            _ctx.store.recordClient(info, c.name, rotation.updatedMs);
                            _ctx.event("created", c.name, created->clientId, rotation.id,
                                       "rotation " + std::to_string(rotation.id));
                        });
    note(Poco::Message::PRIO_INFORMATION,
         "rotation " + std::to_string(rotation.id) + " of " + c.name + " minted client " +
             created->clientId,
         rotation, created->clientId);
    _ctx.crashPoint("minted");
    return {MintOutcome::Kind::Minted, secret, ""};
}

bool RotationAttempt::continueFromMinted(const config::CredentialSettings& c,
                                         store::RotationRow& rotation,
                                         const sink::Credential& secret, PassReport& report)
{
    bool verifiedNow = false;
    if (rotation.stage == Stage::Minted && c.verify)
    {
        if (!verify(c, rotation, secret))
        {
            const std::string why =
                "the new token did not pass verification: " + rotation.error.value_or("unknown");
            if (rollBack(rotation, why, report))
            {
                fail(c.name, &rotation, why, Stage::Verified, report);
            }
            return false;
        }
        verifiedNow = true;
    }
    if (rotation.stage == Stage::Minted || rotation.stage == Stage::Verified)
    {
        // Nothing outside happens between the verification, the start of the delivery and the
        // first sink's attempt: one step.
        Delivery::SinkRows started;
        _ctx.journal.commit(verifiedNow ? "verified + delivery started + first attempt"
                                        : "delivery started + first attempt",
                            [&]
                            {
                                if (verifiedNow)
                                {
                                    _ctx.setStage(rotation,
                                                  advanced(rotation, StageEvent::Verified, false));
                                    rotation.error.reset();
                                    _ctx.event("verified", c.name, rotation.newClientId,
                                               rotation.id,
                                               c.adminToken ? "lists clients and roles"
                                                            : "GET /v2/currentOrg");
                                }
                                started = _delivery.journalStart(c, rotation);
                            });
        _ctx.crashPoint("delivering");
        return settle(c, rotation,
                      _delivery.deliverStarted(c, rotation, secret, std::move(started)), report);
    }
    if (rotation.stage != Stage::Delivering)
    {
        throw core::InvariantError("rotation " + std::to_string(rotation.id) +
                                   " cannot deliver from stage " +
                                   std::string(toString(rotation.stage)));
    }
    return settle(c, rotation, _delivery.resume(c, rotation, secret), report);
}

bool RotationAttempt::settle(const config::CredentialSettings& c, store::RotationRow& rotation,
                             const DeliveryOutcome& delivered, PassReport& report)
{
    switch (delivered.kind)
    {
    case DeliveryOutcome::Kind::Promoted:
        ++report.rotated;
        _ctx.observe(c.name, "success");
        return true;
    case DeliveryOutcome::Kind::RollBack:
        if (rollBack(rotation, delivered.why, report))
        {
            fail(c.name, &rotation, delivered.why, Stage::Delivering, report);
        }
        return false;
    case DeliveryOutcome::Kind::RollForward:
        fail(c.name, &rotation, delivered.why, Stage::Delivering, report);
        return false;
    }
    return false;
}

void RotationAttempt::resume(const config::CredentialSettings& c, store::RotationRow& rotation,
                             PassReport& report)
{
    const auto row = _ctx.store.findCredential(rotation.credential);
    if (rotation.stage == Stage::Delivering && row && row->nextAttemptMs &&
        *row->nextAttemptMs > _ctx.clock.nowMs())
    {
        return; // failing sinks are retried after their backoff
    }
    logger().information("resuming rotation %Ld of %s from stage %s",
                         static_cast<Poco::Int64>(rotation.id), rotation.credential,
                         std::string(toString(rotation.stage)));
    const auto secret = _ctx.pending.read(rotation.id, rotation.credential);
    if (!secret)
    {
        const auto sinks = _ctx.store.sinkStates(rotation.id);
        if (std::none_of(sinks.begin(), sinks.end(), mayHold))
        {
            const std::string why = "the pending file of the new client is gone";
            if (rollBack(rotation, why, report))
            {
                fail(rotation.credential, &rotation, why, rotation.stage, report);
            }
        }
        else
        {
            // Some consumer may use the new client and we cannot finish delivering it:
            // keep both clients alive and ask for a person.
            rotation.error = "the pending file is gone after a sink received the new "
                             "client; both clients stay alive";
            fail(rotation.credential, &rotation, *rotation.error, rotation.stage, report,
                 Quarantine::Now);
        }
        return;
    }
    continueFromMinted(c, rotation, *secret, report);
}

bool RotationAttempt::liftQuarantine(const config::CredentialSettings& c,
                                     store::RotationRow& rotation, store::CredentialRow row,
                                     const sink::Credential& secret, PassReport& report)
{
    row.consecutiveFailures = 0;
    row.nextAttemptMs.reset();
    row.state = CredentialState::Rotating;
    row.updatedMs = _ctx.clock.nowMs();
    _ctx.journal.commit("quarantine lifted + delivering",
                        [&]
                        {
                            _ctx.store.saveCredential(row);
                            _ctx.setStage(rotation, advanced(rotation, StageEvent::Resumed, true));
                            _ctx.store.saveRotation(rotation);
                        });
    return settle(c, rotation, _delivery.resume(c, rotation, secret), report);
}

core::Outcome<std::string> RotationAttempt::adminCheck(const core::Secret& token)
{
    auto checked = _ctx.api.checkAdminToken(token);
    if (!checked)
    {
        return tl::unexpected(checked.error());
    }
    return std::string(); // no org read: nothing to compare
}

bool RotationAttempt::verify(const config::CredentialSettings& c, store::RotationRow& rotation,
                             const sink::Credential& secret)
{
    const std::int64_t deadline = _ctx.clock.nowMs() + _ctx.settings.astra.propagationTimeoutMs;
    std::int64_t delay = 500;
    for (;;)
    {
        // The admin token must pass the calls the rotator makes with it, not just read the org.
        auto org = c.adminToken ? adminCheck(secret.token) : _ctx.api.currentOrgWith(secret.token);
        if (org)
        {
            if (!org->empty() && !secret.orgId.empty() && *org != secret.orgId)
            {
                rotation.error = "the new token belongs to org " + *org + ", not " + secret.orgId;
                return false;
            }
            return true;
        }
        // A new token may take a moment to be accepted everywhere (propagation).
        if (org.error().httpStatus == 401 && _ctx.clock.nowMs() + delay <= deadline && !_ctx.stop)
        {
            logger().debug("new client %s of %s not accepted yet; retrying in %Ld ms",
                           rotation.newClientId, c.name, static_cast<Poco::Int64>(delay));
            _ctx.clock.sleepMs(delay);
            delay = std::min<std::int64_t>(delay * 2, 5000);
            continue;
        }
        rotation.error = org.error().message;
        return false;
    }
}

bool RotationAttempt::rollBack(store::RotationRow& rotation, const std::string& why,
                               PassReport& report)
{
    const auto sinks = _ctx.store.sinkStates(rotation.id);
    if (std::any_of(sinks.begin(), sinks.end(), mayHold))
    {
        throw core::InvariantError("rotation " + std::to_string(rotation.id) +
                                   ": refusing to roll back a client a sink may hold");
    }
    if (!rotation.newClientId.empty())
    {
        auto deleted = _ctx.deleteClient(rotation.newClientId);
        if (!deleted && _ctx.inUse(rotation.newClientId))
        {
            // A self-rotation whose new token the rotator took from the pending file (the token
            // file's was refused): it may be the only live admin token. Keep it, and the pending
            // file, for a person.
            rotation.error = why + "; the new client is not revoked: " + deleted.error().message;
            fail(rotation.credential, &rotation, *rotation.error, rotation.stage, report,
                 Quarantine::Now);
            return false;
        }
        if (!deleted)
        {
            // Leave the stage as it is: the next pass resumes or rolls back again.
            rotation.error = why + "; revoking the new client failed: " + deleted.error().message;
            rotation.updatedMs = _ctx.clock.nowMs();
            _ctx.store.saveRotation(rotation);
            report.errors.push_back(*rotation.error);
            ++report.failed;
            return false;
        }
        _ctx.crashPoint("after-rollback-delete");
    }
    _ctx.journal.commit(
        "rolled back",
        [&]
        {
            if (!rotation.newClientId.empty())
            {
                _ctx.store.markClientRevoked(rotation.newClientId, _ctx.clock.nowMs());
            }
            _ctx.setStage(rotation, advanced(rotation, StageEvent::RolledBack, false));
            rotation.error = why;
            _ctx.store.saveRotation(rotation);
            _ctx.event("rolled_back", rotation.credential, rotation.newClientId, rotation.id,
                       why + (rotation.newClientId.empty() ? "" : "; new client revoked"));
        });
    _ctx.pending.remove(rotation.id);
    note(Poco::Message::PRIO_WARNING,
         "rotation " + std::to_string(rotation.id) + " of " + rotation.credential +
             " rolled back: " + why,
         rotation, rotation.newClientId);
    return true;
}

void RotationAttempt::fail(const std::string& name, store::RotationRow* rotation,
                           const std::string& why, Stage stage, PassReport& report,
                           Quarantine quarantine)
{
    const std::int64_t now = _ctx.clock.nowMs();
    bool quarantined = false;
    _ctx.journal.commit(
        "failed (+ quarantined)",
        [&]
        {
            auto row = _ctx.store.findCredential(name);
            if (!row)
            {
                return;
            }
            row->consecutiveFailures += 1;
            const int shift = std::min(row->consecutiveFailures - 1, 20);
            const std::int64_t backoff =
                std::min(kMaxBackoffMs, _ctx.settings.scheduler.retryBackoffMs << shift);
            row->nextAttemptMs = now + backoff;
            quarantined = quarantine == Quarantine::Now ||
                          row->consecutiveFailures >= _ctx.settings.scheduler.maxFailures;
            row->state = quarantined ? CredentialState::Quarantined : CredentialState::Failed;
            row->updatedMs = now;
            _ctx.store.saveCredential(*row);
            _ctx.event("failed", name, rotation ? rotation->newClientId : "",
                       rotation ? std::optional<std::int64_t>(rotation->id) : std::nullopt,
                       "at " + std::string(toString(stage)) + ": " + why);
            if (quarantined)
            {
                if (rotation && isInProgress(rotation->stage))
                {
                    _ctx.setStage(*rotation, advanced(*rotation, StageEvent::Quarantined, true));
                    _ctx.store.saveRotation(*rotation);
                }
                _ctx.event(
                    "quarantined", name, "", std::nullopt,
                    "after " + std::to_string(row->consecutiveFailures) +
                        " consecutive failures; every client stays alive; `astra-rotator rotate " +
                        name + "` retries");
            }
        });
    ++report.failed;
    report.errors.push_back(name + ": " + why);
    if (quarantined)
    {
        logger().error("credential %s quarantined: %s", name, why);
    }
    _ctx.observe(name, quarantined ? "quarantined" : "failed");
}

} // namespace rotator::rotation
