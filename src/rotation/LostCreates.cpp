#include "LostCreates.h"

#include <algorithm>
#include <map>

#include "rotator/core/Marker.h"

namespace rotator::rotation
{

namespace
{

// A lost create may carry a generatedOn a little outside our own clock's mint window.
constexpr std::int64_t kClockSkewMs = 5 * 60'000;

std::set<std::string> asSet(const std::vector<std::string>& v)
{
    return {v.begin(), v.end()};
}

constexpr std::string_view kWaitingForLateCreate =
    "; waiting for a possibly late create before closing";

} // namespace

// The instants in which the create of `rotation` can have generated a client: from the start
// of its POST, less the clock-skew allowance, to the last moment a server could still commit
// a create we gave up on (three request timeouts after the start, or one after the answer),
// plus the allowance.
LostCreates::MintWindow LostCreates::mintWindow(const store::RotationRow& rotation) const
{
    const std::int64_t start = rotation.mintStartedMs.value_or(rotation.startedMs);
    const std::int64_t timeout = _ctx.settings.astra.timeoutMs;
    const std::int64_t end =
        std::max(start + 3 * timeout, rotation.mintFinishedMs.value_or(start) + timeout);
    return MintWindow{start - kClockSkewMs, end + kClockSkewMs, start};
}

// Whether `clientId` can never be the result of `rotation`'s create: a credential's client,
// the admin token's own, or one this inventory knew before the mint started.
bool LostCreates::isProtected(const store::RotationRow& rotation, const std::string& clientId,
                              const std::set<std::string>& claimed) const
{
    if (claimed.count(clientId) != 0 || clientId == _ctx.api.adminClientId())
    {
        return true;
    }
    const auto known = _ctx.store.findClient(clientId);
    return known && known->firstSeenMs < mintWindow(rotation).mintStartMs;
}

PlannedOutcome LostCreates::reconcilePlanned(store::RotationRow& rotation,
                                             const std::vector<core::ClientInfo>& clients,
                                             PassReport& report)
{
    const auto* c = _ctx.credential(rotation.credential);
    std::map<std::string, const core::ClientInfo*> listed;
    for (const auto& client : clients)
    {
        listed[client.clientId] = &client;
    }

    // Killed after the pending file was written but before `minted` was committed: the
    // secret is safe on disk, so finish the mint (the caller goes on from `minted`) instead of
    // throwing the client away.
    if (_ctx.pending.exists(rotation.id))
    {
        const auto secret = _ctx.pending.read(rotation.id, rotation.credential);
        if (secret && listed.count(secret->clientId) && c)
        {
            _ctx.journal.commit(
                "minted (recovered from the pending file) + created",
                [&]
                {
                    rotation.stage = advanced(rotation, StageEvent::Minted, false);
                    rotation.newClientId = secret->clientId;
                    rotation.orgId = secret->orgId;
                    rotation.mintFinishedMs = rotation.mintFinishedMs.value_or(_ctx.clock.nowMs());
                    rotation.updatedMs = _ctx.clock.nowMs();
                    _ctx.store.saveRotation(rotation);
                    _ctx.event("created", rotation.credential, secret->clientId, rotation.id,
                               "rotation " + std::to_string(rotation.id) +
                                   " (recovered from pending file)");
                });
            return {PlannedOutcome::Kind::Recovered, secret};
        }
        _ctx.pending.remove(rotation.id);
    }

    const auto claimed = _ctx.claimedClients();
    const MintWindow window = mintWindow(rotation);
    std::vector<std::string> orphans;
    if (!rotation.newClientId.empty())
    {
        // A create whose answer failed its checks: we know the client and must revoke it,
        // unless it is one we knew before (`mint` refuses such answers; kept as a backstop).
        if (!isProtected(rotation, rotation.newClientId, claimed))
        {
            orphans.push_back(rotation.newClientId);
        }
    }
    else
    {
        // Only this installation's marker for this rotation, on a client generated inside the
        // mint window, attributes by description.
        for (const auto& client : clients)
        {
            if (client.description && *client.description == rotation.marker &&
                window.contains(client.generatedOnMs) &&
                !isProtected(rotation, client.clientId, claimed))
            {
                orphans.push_back(client.clientId);
            }
        }
        const bool descriptionsSeen =
            std::any_of(clients.begin(), clients.end(),
                        [](const core::ClientInfo& i) { return i.description.has_value(); });
        if (orphans.empty() && (!descriptionsSeen || !_ctx.settings.astra.describeTokens) && c &&
            rotation.mintStartedMs)
        {
            // No descriptions to go by: a client unknown before the mint, with exactly the
            // credential's roles, generated inside the mint window, is this rotation's.
            std::string error;
            const auto roles = _ctx.rolesOf(*c, error);
            if (!roles)
            {
                rotation.error = "cannot attribute clients of a lost create: " + error;
                rotation.updatedMs = _ctx.clock.nowMs();
                _ctx.store.saveRotation(rotation);
                report.errors.push_back(*rotation.error);
                return {PlannedOutcome::Kind::Waiting, std::nullopt};
            }
            std::vector<std::string> candidates;
            for (const auto& client : clients)
            {
                // A client described by any rotator's marker is not this create's when the
                // description differs (another installation's, or another rotation's).
                const bool otherMarker =
                    client.description && core::parseMarker(*client.description).has_value();
                if (!otherMarker && asSet(client.roles) == asSet(*roles) &&
                    window.contains(client.generatedOnMs) &&
                    !isProtected(rotation, client.clientId, claimed))
                {
                    candidates.push_back(client.clientId);
                }
            }
            if (candidates.size() > 1)
            {
                for (const auto& id : candidates)
                {
                    _ctx.event("unattributed", rotation.credential, id, rotation.id,
                               "may be the lost create of rotation " + std::to_string(rotation.id) +
                                   "; " + std::to_string(candidates.size()) +
                                   " candidates, none revoked");
                    ++report.unattributed;
                }
                rotation.error = "a create was lost and " + std::to_string(candidates.size()) +
                                 " clients could be its result; none was revoked";
                rotation.stage = advanced(rotation, StageEvent::Failed, false);
                _ctx.setStage(rotation, rotation.stage);
                _ctx.store.saveRotation(rotation);
                return {PlannedOutcome::Kind::Failed, std::nullopt};
            }
            orphans = candidates;
        }
    }

    if (orphans.empty() && rotation.mintStartedMs && _ctx.clock.nowMs() < window.toMs)
    {
        // A create whose answer was lost may still be committed by the server after we gave
        // up on it: keep the rotation open until that can no longer happen, so a later pass
        // attributes (and revokes) the client instead of leaving an orphan. The reason is set,
        // not appended to, pass after pass.
        std::string reason = rotation.error.value_or("create outcome unknown");
        if (reason.ends_with(kWaitingForLateCreate))
        {
            reason.resize(reason.size() - kWaitingForLateCreate.size());
        }
        rotation.error = reason + std::string(kWaitingForLateCreate);
        rotation.updatedMs = _ctx.clock.nowMs();
        _ctx.store.saveRotation(rotation);
        return {PlannedOutcome::Kind::Waiting, std::nullopt};
    }
    for (const auto& id : orphans)
    {
        if (!listed.count(id))
        {
            continue; // already gone
        }
        auto deleted = _ctx.deleteClient(id);
        if (!deleted)
        {
            rotation.error = "revoking orphan " + id + " failed: " + deleted.error().message;
            rotation.updatedMs = _ctx.clock.nowMs();
            _ctx.store.saveRotation(rotation);
            report.errors.push_back(*rotation.error);
            return {PlannedOutcome::Kind::Waiting, std::nullopt};
        }
        _ctx.journal.commit("orphan revoked",
                            [&]
                            {
                                _ctx.store.markClientRevoked(id, _ctx.clock.nowMs());
                                _ctx.event("orphan_revoked", rotation.credential, id, rotation.id,
                                           "created by rotation " + std::to_string(rotation.id) +
                                               " whose answer was lost or invalid");
                            });
        ++report.orphansRevoked;
        logger().warning("revoked orphan %s of rotation %Ld (%s)", id,
                         static_cast<Poco::Int64>(rotation.id), rotation.credential);
    }
    const std::string why =
        orphans.empty() ? "the create never happened" : "the client of a lost create was revoked";
    rotation.error = rotation.error.value_or(why);
    _ctx.setStage(rotation, advanced(rotation, StageEvent::RolledBack, false));
    _ctx.journal.commit("rolled back + credential released",
                        [&]
                        {
                            _ctx.store.saveRotation(rotation);
                            _ctx.event("rolled_back", rotation.credential, rotation.newClientId,
                                       rotation.id, why);
                            auto row = _ctx.store.findCredential(rotation.credential);
                            if (row && row->state == CredentialState::Rotating)
                            {
                                row->state = row->consecutiveFailures > 0 ? CredentialState::Failed
                                                                          : CredentialState::Idle;
                                row->updatedMs = _ctx.clock.nowMs();
                                _ctx.store.saveCredential(*row);
                            }
                        });
    return {PlannedOutcome::Kind::RolledBack, std::nullopt};
}

void LostCreates::revokeStillListed(const std::vector<core::ClientInfo>& clients,
                                    PassReport& report)
{
    // A client this rotator revoked (a roll-back, an orphan) that the list still shows: its
    // DELETE was answered 404 ("already gone") while the server still had it, or has not taken
    // effect. No sink holds such a client; ask again, once a pass, until the list drops it.
    // This needs no description: the journal knows the ID. (A previous client revoked after
    // its grace is `previous` until confirmRevocations sees it gone.)
    std::set<std::string> revoked; // one query, not one per listed client
    for (const auto& row : _ctx.store.listClients())
    {
        if (row.status == "revoked")
        {
            revoked.insert(row.clientId);
        }
    }
    for (const auto& client : clients)
    {
        if (revoked.count(client.clientId) == 0)
        {
            continue;
        }
        auto deleted = _ctx.deleteClient(client.clientId);
        if (!deleted)
        {
            report.errors.push_back("revoking " + client.clientId +
                                    " again failed: " + deleted.error().message);
            continue;
        }
        _ctx.event("orphan_revoked", "", client.clientId, std::nullopt,
                   "still listed after it was revoked; DELETE sent again");
        ++report.orphansRevoked;
        logger().warning("client %s was revoked but is still listed; revoked it again",
                         client.clientId);
    }
}

void LostCreates::reportUnattributed(const std::vector<core::ClientInfo>& clients,
                                     PassReport& report)
{
    // A client described by a rotator's marker that no rotation of this state directory
    // accounts for: another installation's (its id differs: `foreign`), or ours but not
    // attributable (`unattributed`). Both are reported once and never revoked. A client
    // carrying the marker of one of our finished rotations, generated inside its mint window,
    // is an orphan of that rotation (a create the server committed after we gave up on it).
    const std::string ours = _ctx.store.installationId();
    std::optional<std::set<std::string>> claimed; // read once, when first needed
    auto reportOnce =
        [&](const std::string& kind, const std::string& clientId, const std::string& detail)
    {
        store::HistoryQuery q;
        q.clientId = clientId;
        q.limit = 50;
        const auto past = _ctx.store.history(q);
        if (std::any_of(past.begin(), past.end(),
                        [&](const store::EventRow& e) { return e.event == kind; }))
        {
            return false;
        }
        _ctx.event(kind, "", clientId, std::nullopt, detail);
        return true;
    };
    for (const auto& client : clients)
    {
        const auto marker = client.description ? core::parseMarker(*client.description)
                                               : std::optional<core::Marker>();
        if (!marker)
        {
            continue;
        }
        const auto known = _ctx.store.findClient(client.clientId);
        if (known && (!known->credential.empty() || known->status == "revoked"))
        {
            continue; // a credential's client, or revoked already (revokeStillListed's)
        }
        const auto& description = *client.description;
        if (!marker->installationId.empty() && marker->installationId != ours)
        {
            if (reportOnce("foreign", client.clientId,
                           "made by installation " + marker->installationId +
                               " for its credential " + marker->credential +
                               "; another rotator manages it, never revoked here"))
            {
                ++report.foreign;
                logger().information("client %s belongs to another installation (%s); "
                                     "not touched",
                                     client.clientId, marker->installationId);
            }
            continue;
        }
        const auto rotation = _ctx.store.findRotation(marker->rotationId);
        if (rotation && rotation->marker == description)
        {
            // A marker of the old form (no installation id) may be any installation's: it
            // attributes only to this database's open rotations, which reconcile handles.
            const bool finished = rotation->finishedMs.has_value();
            if (!claimed)
            {
                claimed = _ctx.claimedClients();
            }
            const bool attributable = finished && !marker->installationId.empty() &&
                                      rotation->newClientId != client.clientId &&
                                      mintWindow(*rotation).contains(client.generatedOnMs) &&
                                      !isProtected(*rotation, client.clientId, *claimed);
            if (attributable)
            {
                auto deleted = _ctx.deleteClient(client.clientId);
                if (!deleted)
                {
                    report.errors.push_back("revoking late orphan " + client.clientId +
                                            " failed: " + deleted.error().message);
                    continue;
                }
                _ctx.journal.commit(
                    "late orphan revoked",
                    [&]
                    {
                        _ctx.store.markClientRevoked(client.clientId, _ctx.clock.nowMs());
                        _ctx.event("orphan_revoked", rotation->credential, client.clientId,
                                   rotation->id,
                                   "created late by the server for rotation " +
                                       std::to_string(rotation->id) + ", after it had given up");
                    });
                ++report.orphansRevoked;
                continue;
            }
            if (!finished)
            {
                continue; // its rotation is open: reconcile attributes it
            }
        }
        if (reportOnce("unattributed", client.clientId,
                       "described \"" + description +
                           "\" but no rotation here can have created it; not revoked"))
        {
            ++report.unattributed;
        }
    }
}

} // namespace rotator::rotation
