#include "Planner.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "rotator/core/Duration.h"
#include "rotator/core/Time.h"
#include "rotator/rotation/InventorySync.h"
#include "rotator/rotation/StartRule.h"
#include "rotator/schedule/Schedule.h"

namespace rotator::rotation
{

bool Planner::anyDue() const
{
    const std::int64_t now = _ctx.clock.nowMs();
    return std::any_of(_ctx.settings.credentials.begin(), _ctx.settings.credentials.end(),
                       [&](auto& c)
                       { return schedule::nextRotation(c, _ctx.store, now).dueAt(now); });
}

std::vector<const config::CredentialSettings*> Planner::dueCredentials() const
{
    std::vector<const config::CredentialSettings*> due;
    const std::int64_t now = _ctx.clock.nowMs();
    const auto unfinished = _ctx.store.unfinishedRotations();
    std::set<std::string> busy;
    for (const auto& r : unfinished)
    {
        busy.insert(r.credential);
    }
    for (const auto& c : _ctx.settings.credentials)
    {
        if (busy.count(c.name))
        {
            continue;
        }
        const auto plan = schedule::nextRotation(c, _ctx.store, now);
        if (!plan.dueAt(now))
        {
            continue;
        }
        if (const auto why = waitsForAnother(c, unfinished))
        {
            logger().information("%s is due (%s) but waits: %s", c.name, plan.reason, *why);
            continue;
        }
        logger().information("%s is due: %s", c.name, plan.reason);
        if (c.adminToken)
        {
            return {&c}; // alone; the caller asks again once it has switched
        }
        due.push_back(&c);
    }
    return due;
}

std::optional<std::string> Planner::waitsForAnother(const config::CredentialSettings& c) const
{
    return waitsForAnother(c, _ctx.store.unfinishedRotations());
}

std::optional<std::string>
Planner::waitsForAnother(const config::CredentialSettings& c,
                         const std::vector<store::RotationRow>& unfinished) const
{
    return waitsForAnotherRotation(c, _ctx.credential(config::kAdminCredential) != nullptr,
                                   _ctx.store, unfinished);
}

std::vector<PlanItem> Planner::plan()
{
    std::vector<PlanItem> items;
    const std::int64_t now = _ctx.clock.nowMs();
    std::map<std::string, store::RotationRow> active;
    for (const auto& r : _ctx.store.unfinishedRotations())
    {
        active[r.credential] = r;
    }
    for (const auto& c : _ctx.settings.credentials)
    {
        PlanItem item;
        item.credential = c.name;
        const auto row = _ctx.store.findCredential(c.name);
        const auto due = schedule::nextRotation(c, _ctx.store, now);
        item.nextAtMs = due.atMs;
        item.reason = due.reason;
        std::string error;
        const auto resolved = _ctx.rolesOf(c, error);
        const auto a = active.find(c.name);
        if (a != active.end())
        {
            const auto& r = a->second;
            if (r.stage == Stage::Grace)
            {
                const bool revokeNow = row && row->revokeAfterMs && *row->revokeAfterMs <= now;
                item.actions.push_back(
                    revokeNow ? "would revoke the previous client " + r.oldClientId + " now"
                              : "will revoke the previous client " + r.oldClientId + " at " +
                                    core::formatRfc3339Seconds(
                                        row && row->revokeAfterMs ? *row->revokeAfterMs : now));
            }
            else if (r.stage == Stage::Revoked)
            {
                item.actions.push_back("would confirm that " + r.oldClientId + " is gone");
            }
            else if (r.stage == Stage::Quarantined)
            {
                item.actions.push_back("rotation " + std::to_string(r.id) +
                                       " is quarantined; `rotate " + c.name + "` resumes it");
            }
            else
            {
                item.actions.push_back("would resume rotation " + std::to_string(r.id) +
                                       " from stage " + std::string(toString(r.stage)));
            }
        }
        else if (due.dueAt(now))
        {
            item.dueNow = true;
            // The admin token's roles come from its client in the inventory, not configuration.
            std::string roles;
            for (const auto& r : c.adminToken&& resolved ? *resolved : c.roles)
            {
                roles += (roles.empty() ? "" : ", ") + r;
            }
            item.actions.push_back(
                "would mint a client with " +
                std::string(c.adminToken ? "the admin client's roles [" : "roles [") + roles + "]" +
                (c.expiryMs ? ", expiring in " + core::formatDuration(*c.expiryMs)
                            : std::string()));
            if (c.adminToken)
            {
                item.actions.push_back(
                    "would verify it by listing clients and roles with it, then switch to it");
            }
            else if (c.verify)
            {
                item.actions.push_back("would verify it with GET /v2/currentOrg");
            }
            for (const auto& s : c.sinks)
            {
                const auto it = _ctx.sinks.find(s);
                item.actions.push_back("would write " +
                                       (it != _ctx.sinks.end() ? it->second->describe() : s));
            }
            if (row && !row->currentClientId.empty())
            {
                item.actions.push_back("would revoke " + row->currentClientId + " after " +
                                       core::formatDuration(c.gracePeriodMs) + " of grace");
            }
        }
        if (!resolved)
        {
            item.problems.push_back(error);
        }
        else if (!c.clientId.empty())
        {
            const auto adopted = _ctx.store.findClient(c.clientId);
            const auto roles = _ctx.roles.orgRoles(error);
            if (adopted && roles)
            {
                if (auto w = adoptedRoleWarning(c, adopted->roles, *roles))
                {
                    item.warnings.push_back(std::move(*w));
                }
            }
        }
        for (const auto& s : c.sinks)
        {
            const auto it = _ctx.sinks.find(s);
            if (it == _ctx.sinks.end())
            {
                continue;
            }
            if (auto ok = it->second->check(); !ok)
            {
                item.problems.push_back("sink " + s + ": " + ok.error().message);
            }
        }
        items.push_back(std::move(item));
    }
    for (const auto& row : _ctx.store.listCredentials())
    {
        if (!row.retiredMs || (row.currentClientId.empty() && row.previousClientId.empty()))
        {
            continue;
        }
        PlanItem item;
        item.credential = row.name;
        item.reason = "retired: no longer configured";
        std::string clients = row.currentClientId;
        if (!row.previousClientId.empty())
        {
            clients += (clients.empty() ? "" : " and ") + row.previousClientId;
        }
        item.actions.push_back("keeps " + clients + " alive; `astra-rotator retire " + row.name +
                               " --revoke` revokes them, `retire " + row.name +
                               "` leaves them unmanaged");
        items.push_back(std::move(item));
    }
    return items;
}

std::optional<std::int64_t> Planner::nextWakeMs()
{
    std::optional<std::int64_t> wake;
    auto consider = [&wake](std::optional<std::int64_t> t)
    {
        if (t && (!wake || *t < *wake))
        {
            wake = t;
        }
    };
    std::set<std::string> busy;
    const auto unfinished = _ctx.store.unfinishedRotations();
    for (const auto& r : unfinished)
    {
        busy.insert(r.credential);
        const auto row = _ctx.store.findCredential(r.credential);
        if (r.stage == Stage::Grace && row && row->revokeAfterMs)
        {
            // A revoke that failed (the API failed, or it was refused because the token file
            // holds the old admin token again) keeps its error until one succeeds: it is
            // retried after scheduler.retryBackoff, as a failed pass is, not at every pause.
            consider(r.error ? std::max(*row->revokeAfterMs,
                                        r.updatedMs + _ctx.settings.scheduler.retryBackoffMs)
                             : *row->revokeAfterMs);
        }
        else if (r.stage == Stage::Revoked)
        {
            consider(_ctx.clock.nowMs()); // the next list confirms it
        }
        else if (r.stage != Stage::Quarantined && _ctx.credential(r.credential))
        {
            // Resumable (the credential is still configured, as a resume needs): at once, or
            // after the failure backoff.
            consider(row && row->nextAttemptMs ? *row->nextAttemptMs : _ctx.clock.nowMs());
        }
    }
    const std::int64_t now = _ctx.clock.nowMs();
    for (const auto& c : _ctx.settings.credentials)
    {
        // A credential that waits for another rotation wakes with that one, not at its own due
        // time, which may be past (a pass each minimum pause, all doing nothing).
        if (busy.count(c.name) || waitsForAnother(c, unfinished))
        {
            continue;
        }
        consider(schedule::nextRotation(c, _ctx.store, now).atMs);
    }
    return wake;
}

} // namespace rotator::rotation
