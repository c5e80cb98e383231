#include "rotator/rotation/RotationEngine.h"

#include <algorithm>
#include <mutex>

#include "EngineContext.h"
#include "LostCreates.h"
#include "Planner.h"
#include "Revoker.h"
#include "RotationAttempt.h"
#include "rotator/core/CpuAccount.h"
#include "rotator/core/Time.h"
#include "rotator/rotation/InventorySync.h"
#include "rotator/rotation/StartRule.h"

namespace rotator::rotation
{

RotationEngine::RotationEngine(const config::Settings& settings, api::TokenApi& api,
                               store::Journal& journal,
                               std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks,
                               PendingFiles pending, core::Clock& clock)
    : _ctx(std::make_unique<EngineContext>(settings, api, journal, std::move(sinks),
                                           std::move(pending), clock)),
      _lostCreates(std::make_unique<LostCreates>(*_ctx)),
      _attempt(std::make_unique<RotationAttempt>(*_ctx)),
      _revoker(std::make_unique<Revoker>(*_ctx)), _planner(std::make_unique<Planner>(*_ctx))
{
}

RotationEngine::~RotationEngine() = default;

void RotationEngine::setCrashHook(CrashHook hook)
{
    _ctx->crash = std::move(hook);
}

void RotationEngine::setResultObserver(ResultObserver observer)
{
    _ctx->observer = std::move(observer);
}

void RotationEngine::setSinkObserver(SinkObserver observer)
{
    _ctx->sinkObserver = std::move(observer);
}

void RotationEngine::requestStop()
{
    _ctx->stop = true;
}

bool RotationEngine::stopRequested() const
{
    return _ctx->stop;
}

// ---------------------------------------------------------------------------------------------
// Passes

PassReport RotationEngine::runPass()
{
    const core::cpu_account::Scope account("pass");
    PassReport report;
    // A rotation needs the roles list: ask for it while the clients are listed, one round trip
    // less before the first create (the workers would otherwise wait for it). By the stored
    // state, which the list rarely changes; a miss costs one unused request. Whatever happens
    // below, the request asked ahead is over when the pass is.
    const RoleCache::Pass roles(_ctx->roles, _planner->anyDue());
    const auto clients = listAndSync(report);
    if (!clients)
    {
        return report;
    }
    // First the clients revoked by earlier passes that this list still shows; what this pass
    // revokes below is in the list too, and must not be asked twice from it.
    _lostCreates->revokeStillListed(*clients, report);
    reconcile(*clients, report);
    _lostCreates->reportUnattributed(*clients, report);
    reportCurrentMissing(report);
    _revoker->confirmRevocations(&*clients, report);
    if (!_ctx->stop)
    {
        rotateDue(report);
    }
    if (!_ctx->stop)
    {
        _revoker->revokeDue(report, false, "");
    }
    if (report.revoked > 0)
    {
        _revoker->confirmRevocations(nullptr, report);
    }
    return report;
}

std::optional<std::vector<core::ClientInfo>> RotationEngine::listAndSync(PassReport& report)
{
    auto clients = _ctx->api.listClients();
    if (!clients && clients.error().httpStatus == 401 && adoptPendingAdminToken())
    {
        clients = _ctx->api.listClients();
    }
    if (!clients)
    {
        report.listFailed = true;
        report.adminTokenRejected = clients.error().httpStatus == 401;
        report.errors.push_back("listing clients failed: " + clients.error().message);
        logger().error("listing clients failed; nothing changed: %s", clients.error().message);
        if (report.adminTokenRejected && !_adminTokenRefusalRecorded)
        {
            _ctx->event("admin_token_invalid", "", "", std::nullopt,
                        "the DevOps API refused the admin token (401): " + clients.error().message);
            _adminTokenRefusalRecorded = true;
        }
        return std::nullopt;
    }
    _adminTokenRefusalRecorded = false;
    const auto sync = applyInventory(*clients, _ctx->store, _ctx->settings, _ctx->clock.nowMs());
    adoptAdminClient(*clients, _ctx->store, _ctx->settings, _ctx->api.adminClientId(),
                     _ctx->clock.nowMs());
    for (const auto& w : sync.warnings)
    {
        report.errors.push_back(w);
    }
    if (sync.adopted > 0)
    {
        std::string error;
        if (const auto roles = _ctx->roles.orgRoles(error))
        {
            for (const auto& w : adoptedRoleWarnings(_ctx->settings, *clients, *roles))
            {
                logger().warning(w);
            }
        }
    }
    return std::move(*clients);
}

bool RotationEngine::adoptPendingAdminToken()
{
    const auto* admin = _ctx->credential(config::kAdminCredential);
    const auto last = admin ? _ctx->store.lastRotation(admin->name) : std::nullopt;
    if (!last || !isActive(last->stage))
    {
        return false;
    }
    // Still planned when the process stopped between the pending file and `minted`: a pending
    // file that reads holds a minted token all the same (reconcile recovers the mint from it).
    const auto secret = _ctx->pending.read(last->id, admin->name);
    if (!secret)
    {
        return false;
    }
    // The token file's token is refused, and a self-rotation minted a new one before the
    // process stopped: use it; resuming the rotation writes it to the token file.
    logger().warning("the admin token of astra.tokenFile was refused; using the new admin token "
                     "(client %s) of unfinished self-rotation %Ld from its pending file",
                     secret->clientId, static_cast<Poco::Int64>(last->id));
    _ctx->api.adoptAdminToken(secret->token);
    return true;
}

void RotationEngine::reconcile(const std::vector<core::ClientInfo>& clients, PassReport& report)
{
    for (auto rotation : _ctx->store.unfinishedRotations())
    {
        if (_ctx->stop)
        {
            return;
        }
        const auto* c = _ctx->credential(rotation.credential);
        if (!c && (rotation.stage == Stage::Grace || rotation.stage == Stage::Revoked))
        {
            continue; // a retired credential's: revoked and confirmed like any other
        }
        if (!c)
        {
            report.errors.push_back("rotation " + std::to_string(rotation.id) + " of credential " +
                                    rotation.credential +
                                    " is unfinished, but the credential is no longer configured");
            continue;
        }
        if (rotation.stage == Stage::Planned)
        {
            resumePlanned(rotation, clients, report);
        }
        else if (isInProgress(rotation.stage)) // minted, verified or delivering
        {
            _attempt->resume(*c, rotation, report);
        }
        else if (rotation.stage == Stage::Grace || rotation.stage == Stage::Revoked)
        {
            if (_ctx->pending.exists(rotation.id))
            {
                _ctx->pending.remove(rotation.id); // promoted, then killed before the cleanup
            }
        }
    }
    // Pending files of finished rotations (a crash between the journal and the unlink), and
    // temporaries of a pending write that was killed.
    _ctx->pending.removeStaleTemporaries();
    for (const auto id : _ctx->pending.list())
    {
        const auto rotation = _ctx->store.findRotation(id);
        if (rotation && !isActive(rotation->stage))
        {
            _ctx->pending.remove(id);
        }
    }
}

bool RotationEngine::runAttempt(const config::CredentialSettings& c, store::RotationRow& rotation,
                                PassReport& report)
{
    auto minted = _attempt->mint(c, rotation, report);
    if (minted.kind == MintOutcome::Kind::Minted)
    {
        return _attempt->continueFromMinted(c, rotation, *minted.secret, report);
    }
    if (minted.kind == MintOutcome::Kind::Ambiguous)
    {
        // A POST is never retried blindly: find out from the list what happened.
        if (auto clients = _ctx->api.listClients())
        {
            resumePlanned(rotation, *clients, report);
        }
        _attempt->fail(c.name, nullptr, minted.why, Stage::Planned, report);
    }
    return false;
}

void RotationEngine::resumePlanned(store::RotationRow& rotation,
                                   const std::vector<core::ClientInfo>& clients, PassReport& report)
{
    const auto settled = _lostCreates->reconcilePlanned(rotation, clients, report);
    if (settled.kind == PlannedOutcome::Kind::Recovered)
    {
        _attempt->continueFromMinted(*_ctx->credential(rotation.credential), rotation,
                                     *settled.secret, report);
    }
}

void RotationEngine::reportCurrentMissing(PassReport& report)
{
    for (const auto& c : _ctx->settings.credentials)
    {
        const auto row = _ctx->store.findCredential(c.name);
        if (!row || row->currentClientId.empty())
        {
            continue;
        }
        const auto client = _ctx->store.findClient(row->currentClientId);
        if (!client || !client->goneElsewhere())
        {
            continue;
        }
        report.currentMissing.push_back(c.name);
        store::HistoryQuery q;
        q.clientId = client->clientId;
        q.limit = 50;
        const auto past = _ctx->store.history(q);
        if (std::any_of(past.begin(), past.end(),
                        [&](const store::EventRow& e) {
                            return e.event == "current_missing" && e.atMs >= *client->disappearedMs;
                        }))
        {
            continue;
        }
        _ctx->event("current_missing", c.name, client->clientId, std::nullopt,
                    "the current client is no longer listed (revoked outside this rotator?); "
                    "consumers hold a dead token until it is replaced, which starts now");
        logger().error("credential %s: its current client %s is no longer listed; replacing it",
                       c.name, client->clientId);
    }
}

void RotationEngine::rotateDue(PassReport& report)
{
    auto due = _planner->dueCredentials();
    if (due.size() == 1 && due.front()->adminToken)
    {
        // A self-rotation runs alone; the applications due follow with the new token.
        rotateEach(due, report);
        if (_ctx->stop)
        {
            return;
        }
        due = _planner->dueCredentials();
    }
    rotateEach(due, report);
}

void RotationEngine::rotateEach(const std::vector<const config::CredentialSettings*>& due,
                                PassReport& report)
{
    if (due.empty())
    {
        return;
    }
    // Rotations overlap their round trips; each worker takes the next due credential.
    std::mutex reportMutex;
    _ctx->workers.forEach(
        due.size(),
        [&](std::size_t i)
        {
            const auto* c = due[i];
            PassReport local;
            store::RotationRow rotation = _attempt->start(*c, std::nullopt);
            if (rotation.id != 0)
            {
                runAttempt(*c, rotation, local);
            }
            else
            {
                _attempt->fail(c->name, nullptr, rotation.error.value_or("cannot start"),
                               Stage::Planned, local);
            }
            std::lock_guard<std::mutex> lock(reportMutex);
            report.rotated += local.rotated;
            report.failed += local.failed;
            report.orphansRevoked += local.orphansRevoked;
            report.unattributed += local.unattributed;
            report.errors.insert(report.errors.end(), local.errors.begin(), local.errors.end());
        });
}

// ---------------------------------------------------------------------------------------------
// Commands

RotateOutcome RotationEngine::rotateNow(const std::string& name, bool noGrace)
{
    RotateOutcome out;
    const auto* c = _ctx->credential(name);
    if (!c)
    {
        out.message = "no credential named \"" + name + "\" is configured";
        return out;
    }
    PassReport report;
    _ctx->roles.forget();
    // A rotation of this credential interrupted before it was promoted is resumed by the
    // reconcile below: if it completes, it is this command's rotation.
    const auto before = _ctx->store.lastRotation(name);
    const bool interrupted =
        before && isInProgress(before->stage) && before->stage != Stage::Planned;
    const auto clients = listAndSync(report);
    if (!clients)
    {
        out.message = report.errors.empty() ? "listing clients failed" : report.errors.front();
        return out;
    }
    reconcile(*clients, report);
    _revoker->confirmRevocations(&*clients, report);

    auto row = _ctx->store.findCredential(name);
    const auto last = _ctx->store.lastRotation(name);
    if (interrupted && last && last->id == before->id && !isActive(last->stage) &&
        last->stage != Stage::RolledBack && last->stage != Stage::Failed)
    {
        // Promoted just now: report it, and honour --no-grace for it.
        out.rotationId = last->id;
        out.resumed = true;
        out.ok = true;
        if (noGrace && row && row->previousClientId == last->oldClientId &&
            !last->oldClientId.empty())
        {
            _revoker->revokeDue(report, true, name);
            _revoker->confirmRevocations(nullptr, report);
        }
        const auto after = _ctx->store.findRotation(last->id);
        out.stage = toString(after ? after->stage : last->stage);
        out.message =
            "resumed interrupted rotation " + std::to_string(last->id) + " and delivered it";
        return out;
    }
    if (last && last->stage == Stage::Quarantined)
    {
        // Lift the quarantine by resuming the delivery of the client sinks may already hold.
        auto rotation = *last;
        const auto secret = _ctx->pending.read(rotation.id, name);
        if (!secret)
        {
            out.message = "rotation " + std::to_string(rotation.id) +
                          " is quarantined and its pending file is gone; fix by hand";
            return out;
        }
        out.rotationId = rotation.id;
        out.ok = _attempt->liftQuarantine(*c, rotation, *row, *secret, report);
        out.stage = toString(rotation.stage);
        out.message = out.ok ? "delivered" : rotation.error.value_or("failed");
        return out;
    }
    if (const auto why = _planner->waitsForAnother(*c))
    {
        out.message = name + " cannot start now: " + *why;
        return out;
    }
    const StartBlock block = startBlock(last, row, _ctx->clock.nowMs());
    if (block == StartBlock::InProgress)
    {
        out.rotationId = last->id;
        out.stage = toString(last->stage);
        out.message = inProgressRefusal(*last);
        return out;
    }
    if (row && !row->previousClientId.empty())
    {
        if (block == StartBlock::InGrace && !noGrace)
        {
            out.message = "the previous client " + row->previousClientId + " of " + name +
                          " is still in its grace period (until " +
                          (row->revokeAfterMs ? core::formatRfc3339Seconds(*row->revokeAfterMs)
                                              : std::string("?")) +
                          "); rotate again after it is revoked, or use --no-grace";
            return out;
        }
        _revoker->revokeDue(report, true, name);
        _revoker->confirmRevocations(nullptr, report);
        row = _ctx->store.findCredential(name);
        if (row && !row->previousClientId.empty())
        {
            out.message =
                "the previous client " + row->previousClientId +
                " could not be revoked yet: " + (report.errors.empty() ? "" : report.errors.back());
            return out;
        }
    }
    if (row && row->state == CredentialState::Quarantined)
    {
        row->consecutiveFailures = 0;
        row->nextAttemptMs.reset();
        row->state = CredentialState::Idle;
        row->updatedMs = _ctx->clock.nowMs();
        _ctx->store.saveCredential(*row);
    }
    auto rotation = _attempt->start(*c, "manual", noGrace);
    if (rotation.id == 0)
    {
        _attempt->fail(name, nullptr, rotation.error.value_or("cannot start"), Stage::Planned,
                       report);
        out.message = rotation.error.value_or("cannot start");
        return out;
    }
    out.rotationId = rotation.id;
    out.ok = runAttempt(*c, rotation, report);
    if (out.ok && noGrace)
    {
        _revoker->revokeDue(report, true, name);
        _revoker->confirmRevocations(nullptr, report);
        if (const auto after = _ctx->store.findRotation(rotation.id))
        {
            rotation = *after;
        }
    }
    out.stage = toString(rotation.stage);
    out.message =
        out.ok ? "delivered"
               : (rotation.error ? *rotation.error
                                 : (report.errors.empty() ? "failed" : report.errors.back()));
    return out;
}

RetireOutcome RotationEngine::retire(const std::string& name, bool revoke)
{
    RetireOutcome out;
    if (_ctx->credential(name))
    {
        out.message = "credential " + name + " is still configured; remove credentials." + name +
                      ".* from the configuration first";
        return out;
    }
    PassReport report;
    const auto clients = listAndSync(report);
    if (!clients)
    {
        out.message = report.errors.empty() ? "listing clients failed" : report.errors.front();
        return out;
    }
    return _revoker->retire(name, revoke, *clients, report);
}

std::vector<PlanItem> RotationEngine::plan()
{
    return _planner->plan();
}

std::optional<std::int64_t> RotationEngine::nextWakeMs()
{
    return _planner->nextWakeMs();
}

} // namespace rotator::rotation
