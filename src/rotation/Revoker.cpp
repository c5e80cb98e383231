#include "Revoker.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <optional>
#include <set>

#include "rotator/core/Errors.h"

namespace rotator::rotation
{

void Revoker::revokeDue(PassReport& report, bool force, const std::string& only)
{
    const std::int64_t now = _ctx.clock.nowMs();
    std::vector<store::RotationRow> due;
    for (auto rotation : _ctx.store.unfinishedRotations())
    {
        if (rotation.stage != Stage::Grace || (!only.empty() && rotation.credential != only))
        {
            continue;
        }
        const auto row = _ctx.store.findCredential(rotation.credential);
        if (!row || row->previousClientId != rotation.oldClientId || rotation.oldClientId.empty())
        {
            continue;
        }
        if (!force && row->revokeAfterMs && *row->revokeAfterMs > now)
        {
            continue;
        }
        due.push_back(std::move(rotation));
    }
    // Read here, not by the workers all at once: nothing writes sink states until they finish.
    std::vector<std::vector<store::SinkStateRow>> sinkStates;
    for (const auto& rotation : due)
    {
        sinkStates.push_back(_ctx.store.sinkStates(rotation.id));
    }
    // The workers only call the API; one commit afterwards journals every outcome. A DELETE
    // is idempotent (404 counts as done), so a crash before that commit only makes the next
    // pass ask again.
    std::mutex outcomesMutex;
    std::vector<store::RotationRow*> revoked;
    std::vector<store::RotationRow*> failed;
    std::exception_ptr failure;
    try
    {
        _ctx.workers.forEach(due.size(),
                             [&](std::size_t i)
                             {
                                 auto& rotation = due[i];
                                 // The revoke gate: every sink of the rotation holds the new
                                 // client.
                                 for (const auto& s : sinkStates[i])
                                 {
                                     if (s.state != SinkDelivery::Delivered)
                                     {
                                         throw core::InvariantError(
                                             "rotation " + std::to_string(rotation.id) + ": sink " +
                                             s.sink + " does not hold the new client");
                                     }
                                 }
                                 _ctx.crashPoint("before-revoke");
                                 // Refused when the token file went back to the old client.
                                 auto deleted = _ctx.deleteClient(rotation.oldClientId);
                                 _ctx.crashPoint("after-revoke");
                                 std::lock_guard<std::mutex> lock(outcomesMutex);
                                 if (deleted)
                                 {
                                     revoked.push_back(&rotation);
                                     return;
                                 }
                                 rotation.error =
                                     "revoking the previous client failed (retried next pass): " +
                                     deleted.error().message;
                                 failed.push_back(&rotation);
                             });
    }
    catch (...)
    {
        failure = std::current_exception(); // what the others did is still journaled
    }
    if (!revoked.empty() || !failed.empty())
    {
        _ctx.journal.commit(
            "previous clients revoked",
            [&]
            {
                for (auto* rotation : revoked)
                {
                    _ctx.setStage(*rotation, advanced(*rotation, StageEvent::Revoked, true));
                    rotation->error.reset();
                    _ctx.store.saveRotation(*rotation);
                    _ctx.store.markClientRevoked(rotation->oldClientId, _ctx.clock.nowMs());
                    _ctx.event("revoked", rotation->credential, rotation->oldClientId, rotation->id,
                               "DELETE /v2/clientIdSecrets");
                }
                for (auto* rotation : failed)
                {
                    rotation->updatedMs = _ctx.clock.nowMs();
                    _ctx.store.saveRotation(*rotation);
                }
            });
    }
    for (auto* rotation : revoked)
    {
        note(Poco::Message::PRIO_INFORMATION,
             "revoked previous client " + rotation->oldClientId + " of " + rotation->credential,
             *rotation, rotation->oldClientId);
    }
    report.revoked += static_cast<int>(revoked.size());
    for (auto* rotation : failed)
    {
        report.errors.push_back(rotation->credential + ": " + *rotation->error);
    }
    if (failure)
    {
        std::rethrow_exception(failure);
    }
}

void Revoker::confirmRevocations(const std::vector<core::ClientInfo>* clients, PassReport& report)
{
    std::vector<store::RotationRow> waiting;
    for (auto& r : _ctx.store.unfinishedRotations())
    {
        if (r.stage == Stage::Revoked)
        {
            waiting.push_back(r);
        }
    }
    if (waiting.empty())
    {
        return;
    }
    std::optional<std::vector<core::ClientInfo>> fresh;
    if (!clients)
    {
        auto listed = _ctx.api.listClients(); // one list confirms every revocation of the pass
        if (!listed)
        {
            report.errors.push_back("confirming revocations: " + listed.error().message);
            return;
        }
        fresh = std::move(*listed);
        clients = &*fresh;
    }
    std::set<std::string> present;
    for (const auto& c : *clients)
    {
        present.insert(c.clientId);
    }
    std::vector<store::RotationRow*> confirmed;
    std::vector<std::string> stillListed;
    for (auto& rotation : waiting)
    {
        if (present.count(rotation.oldClientId))
        {
            stillListed.push_back(rotation.oldClientId);
        }
        else
        {
            confirmed.push_back(&rotation);
        }
    }
    if (!confirmed.empty())
    {
        // One commit for every confirmation of the list.
        _ctx.journal.commit(
            "revocations confirmed",
            [&]
            {
                for (auto* rotation : confirmed)
                {
                    _ctx.setStage(*rotation, advanced(*rotation, StageEvent::Confirmed, true));
                    _ctx.store.saveRotation(*rotation);
                    auto row = _ctx.store.findCredential(rotation->credential);
                    if (row && row->previousClientId == rotation->oldClientId)
                    {
                        row->previousClientId.clear();
                        row->revokeAfterMs.reset();
                        if (row->state == CredentialState::Grace)
                        {
                            row->state = CredentialState::Idle;
                        }
                        row->updatedMs = _ctx.clock.nowMs();
                        _ctx.store.saveCredential(*row);
                    }
                    _ctx.event("revoke_confirmed", rotation->credential, rotation->oldClientId,
                               rotation->id, "no longer listed");
                }
            });
        report.confirmed += static_cast<int>(confirmed.size());
    }
    for (const auto& clientId : stillListed)
    {
        // Still listed after a successful DELETE: ask again; the next list decides.
        (void)_ctx.deleteClient(clientId);
    }
}

RetireOutcome Revoker::retire(const std::string& name, bool revoke,
                              const std::vector<core::ClientInfo>& clients, PassReport& report)
{
    RetireOutcome out;
    confirmRevocations(&clients, report);
    auto row = _ctx.store.findCredential(name);
    if (!row)
    {
        out.message = "no credential named \"" + name + "\" in the database";
        return out;
    }
    std::optional<store::RotationRow> inGrace;
    for (const auto& r : _ctx.store.unfinishedRotations())
    {
        if (r.credential != name)
        {
            continue;
        }
        if (r.stage != Stage::Grace && r.stage != Stage::Revoked)
        {
            out.message = "rotation " + std::to_string(r.id) + " of " + name +
                          " is unfinished at stage " + std::string(toString(r.stage)) +
                          " (a sink may hold its new client); configure the credential again "
                          "so that it can finish, then retire it";
            return out;
        }
        if (r.stage == Stage::Grace)
        {
            inGrace = r;
        }
    }
    if (!revoke && inGrace && row->previousClientId == inGrace->oldClientId)
    {
        out.message = "the previous client " + row->previousClientId + " of " + name +
                      " is in its grace period; retire after it is revoked, or use --revoke";
        return out;
    }
    std::set<std::string> listed;
    for (const auto& c : clients)
    {
        listed.insert(c.clientId);
    }
    std::vector<std::string> ids;
    for (const auto& id : {row->previousClientId, row->currentClientId})
    {
        if (!id.empty() && listed.count(id) != 0)
        {
            ids.push_back(id);
        }
    }
    const auto inUse =
        std::find_if(ids.begin(), ids.end(), [&](const std::string& id) { return _ctx.inUse(id); });
    if (revoke && inUse != ids.end())
    {
        // Self-rotation turned off leaves "(admin)" retired with the token in use as its client.
        out.message = "client " + *inUse +
                      " is the admin token the rotator uses (astra.tokenFile); revoking it would "
                      "lock the rotator out: retire without --revoke";
        return out;
    }
    if (revoke)
    {
        for (const auto& id : ids)
        {
            auto deleted = _ctx.deleteClient(id);
            if (!deleted)
            {
                out.message = "revoking " + id + " failed: " + deleted.error().message;
                return out; // what was revoked so far is journaled; running it again goes on
            }
            _ctx.journal.commit(
                "retired client revoked",
                [&]
                {
                    _ctx.store.markClientRevoked(id, _ctx.clock.nowMs());
                    if (inGrace && id == inGrace->oldClientId)
                    {
                        _ctx.setStage(*inGrace, advanced(*inGrace, StageEvent::Revoked, true));
                        _ctx.store.saveRotation(*inGrace);
                    }
                    _ctx.event("revoked", name, id, std::nullopt,
                               "retired credential: `astra-rotator retire " + name + " --revoke`");
                });
            out.revoked.push_back(id);
        }
    }
    else
    {
        out.released = ids;
    }
    _ctx.journal.commit("retired",
                        [&]
                        {
                            row->currentClientId.clear();
                            row->previousClientId.clear();
                            row->revokeAfterMs.reset();
                            row->state = CredentialState::Idle;
                            row->updatedMs = _ctx.clock.nowMs();
                            _ctx.store.saveCredential(*row);
                            _ctx.event("retired", name, "", std::nullopt,
                                       revoke
                                           ? "retired; its clients were revoked"
                                           : "retired; its clients are left alive and unmanaged");
                        });
    if (!out.revoked.empty())
    {
        confirmRevocations(nullptr, report);
    }
    out.ok = true;
    out.message = "retired";
    return out;
}

} // namespace rotator::rotation
