#include "rotator/report/Reports.h"

#include <algorithm>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include "rotator/core/Duration.h"
#include "rotator/core/Time.h"
#include "rotator/rotation/RotationEngine.h"
#include "rotator/schedule/Schedule.h"

namespace rotator::report
{

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace
{

Poco::Dynamic::Var timeOrNull(const std::optional<std::int64_t>& ms)
{
    if (!ms)
    {
        return Poco::Dynamic::Var();
    }
    return core::formatRfc3339Seconds(*ms);
}

template <typename T> Poco::Dynamic::Var orNull(const std::optional<T>& v)
{
    if (!v)
    {
        return Poco::Dynamic::Var();
    }
    return *v;
}

Poco::Dynamic::Var stringOrNull(const std::string& s)
{
    if (s.empty())
    {
        return Poco::Dynamic::Var();
    }
    return s;
}

Array::Ptr stringArray(const std::vector<std::string>& items)
{
    Array::Ptr arr = new Array;
    for (const auto& item : items)
    {
        arr->add(item);
    }
    return arr;
}

Object::Ptr toObject(const CredentialView& v)
{
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("name", v.name);
    o->set("clientId", stringOrNull(v.clientId));
    o->set("generatedOn", orNull(v.generatedOn));
    o->set("ageSeconds", orNull(v.ageSeconds));
    o->set("maxAgeSeconds", v.maxAgeSeconds);
    o->set("state", v.state);
    o->set("currentMissing", v.currentMissing);
    o->set("nextRotationAt", timeOrNull(v.nextRotationAtMs));
    o->set("previousClientId", stringOrNull(v.previousClientId));
    o->set("revokeAfter", timeOrNull(v.revokeAfterMs));
    if (v.lastRotation)
    {
        Object::Ptr r = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        r->set("id", v.lastRotation->id);
        r->set("state", v.lastRotation->state);
        r->set("startedAt", core::formatRfc3339Seconds(v.lastRotation->startedMs));
        r->set("finishedAt", timeOrNull(v.lastRotation->finishedMs));
        r->set("error", orNull(v.lastRotation->error));
        o->set("lastRotation", r);
    }
    else
    {
        o->set("lastRotation", Poco::Dynamic::Var());
    }
    return o;
}

std::string stringify(const Object& o)
{
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}

// "2026-11-28 06:43" (UTC): enough for a table, in 16 columns.
std::string shortTime(std::int64_t ms)
{
    const std::string t = core::formatRfc3339Seconds(ms);
    return t.substr(0, 10) + " " + t.substr(11, 5);
}

} // namespace

std::vector<CredentialView> credentialViews(const config::Settings& settings,
                                            const store::StateStore& store, std::int64_t nowMs)
{
    std::vector<CredentialView> out;
    for (const auto& c : settings.credentials)
    {
        CredentialView v;
        v.name = c.name;
        v.maxAgeSeconds = c.maxAgeMs / 1000;
        const auto row = store.findCredential(c.name);
        if (row)
        {
            v.clientId = row->currentClientId;
            v.previousClientId = row->previousClientId;
            v.revokeAfterMs = row->revokeAfterMs;
            v.state = core::toString(row->state);
        }
        if (!v.clientId.empty())
        {
            if (const auto client = store.findClient(v.clientId))
            {
                v.generatedOn = client->generatedOn;
                v.ageSeconds = (nowMs - client->generatedOnMs) / 1000;
                v.currentMissing = client->goneElsewhere();
            }
        }
        // The scheduler's own answer (jitter, window, backoff, grace, quarantine included).
        v.nextRotationAtMs = schedule::nextRotation(c, store, nowMs).atMs;
        if (const auto last = store.lastRotation(c.name))
        {
            RotationSummary r;
            r.id = last->id;
            r.state = core::toString(last->stage);
            r.startedMs = last->startedMs;
            r.finishedMs = last->finishedMs;
            r.error = last->error;
            v.lastRotation = r;
        }
        out.push_back(std::move(v));
    }
    for (const auto& row : store.listCredentials())
    {
        if (!row.retiredMs || (row.currentClientId.empty() && row.previousClientId.empty()))
        {
            continue;
        }
        CredentialView v;
        v.name = row.name;
        v.clientId = row.currentClientId;
        v.previousClientId = row.previousClientId;
        v.revokeAfterMs = row.revokeAfterMs;
        v.state = "retired";
        if (const auto client = store.findClient(v.clientId))
        {
            v.generatedOn = client->generatedOn;
            v.ageSeconds = (nowMs - client->generatedOnMs) / 1000;
        }
        out.push_back(std::move(v));
    }
    return out;
}

std::vector<ClientView> clientViews(const store::StateStore& store, std::int64_t nowMs,
                                    bool unmanagedOnly,
                                    std::optional<std::int64_t> olderThanSeconds, bool includeGone)
{
    std::vector<ClientView> out;
    for (const auto& c : store.listClients())
    {
        ClientView v;
        v.clientId = c.clientId;
        v.roles = c.roles;
        v.generatedOn = c.generatedOn;
        v.ageSeconds = (nowMs - c.generatedOnMs) / 1000;
        v.credential = c.credential;
        v.status = c.status;
        if (!includeGone && v.status == "revoked" && c.disappearedMs)
        {
            continue; // revoked, and a list has confirmed it gone
        }
        if (unmanagedOnly && v.status != "unmanaged")
        {
            continue;
        }
        // Stale means "alive and old": revoked and missing clients can no longer be used.
        if (olderThanSeconds &&
            (v.ageSeconds < *olderThanSeconds || v.status == "revoked" || v.status == "missing"))
        {
            continue;
        }
        out.push_back(std::move(v));
    }
    return out;
}

std::string credentialsJson(const std::vector<CredentialView>& rows,
                            const std::string& installationId,
                            const store::NotificationBacklog* backlog, std::int64_t nowMs)
{
    Array::Ptr arr = new Array;
    for (const auto& r : rows)
    {
        arr->add(toObject(r));
    }
    Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    if (!installationId.empty())
    {
        o.set("installationId", installationId);
    }
    o.set("credentials", arr);
    if (backlog != nullptr)
    {
        Object::Ptr n = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        n->set("pending", backlog->pending);
        n->set("failed", backlog->failed);
        n->set("oldestPendingAt", timeOrNull(backlog->oldestPendingMs));
        n->set("oldestPendingSeconds",
               backlog->oldestPendingMs
                   ? Poco::Dynamic::Var((nowMs - *backlog->oldestPendingMs) / 1000)
                   : Poco::Dynamic::Var());
        o.set("notifications", n);
    }
    return stringify(o);
}

std::string credentialJson(const CredentialView& row)
{
    return stringify(*toObject(row));
}

std::string clientsJson(const std::vector<ClientView>& rows)
{
    Array::Ptr arr = new Array;
    for (const auto& r : rows)
    {
        Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("clientId", r.clientId);
        o->set("roles", stringArray(r.roles));
        o->set("generatedOn", r.generatedOn);
        o->set("ageSeconds", r.ageSeconds);
        o->set("credential", stringOrNull(r.credential));
        o->set("status", r.status);
        arr->add(o);
    }
    Object o;
    o.set("clients", arr);
    return stringify(o);
}

std::string eventsJson(const std::vector<store::EventRow>& rows)
{
    Array::Ptr arr = new Array;
    for (const auto& e : rows)
    {
        Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("at", core::formatRfc3339Ms(e.atMs));
        o->set("credential", stringOrNull(e.credential));
        o->set("clientId", stringOrNull(e.clientId));
        o->set("event", e.event);
        o->set("detail", e.detail);
        arr->add(o);
    }
    Object o;
    o.set("events", arr);
    return stringify(o);
}

std::string planJson(const std::vector<rotation::PlanItem>& items)
{
    Array::Ptr arr = new Array;
    for (const auto& i : items)
    {
        Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        o->set("credential", i.credential);
        o->set("dueNow", i.dueNow);
        o->set("nextRotationAt", timeOrNull(i.nextAtMs));
        o->set("reason", i.reason);
        o->set("actions", stringArray(i.actions));
        o->set("problems", stringArray(i.problems));
        o->set("warnings", stringArray(i.warnings));
        arr->add(o);
    }
    Object o;
    o.set("plan", arr);
    return stringify(o);
}

void printPlan(std::ostream& out, const std::vector<rotation::PlanItem>& items, std::int64_t nowMs)
{
    for (const auto& i : items)
    {
        out << i.credential << ": ";
        if (i.dueNow)
        {
            out << "due now";
        }
        else if (i.nextAtMs)
        {
            out << "next rotation " << core::formatRfc3339Seconds(*i.nextAtMs)
                << (*i.nextAtMs <= nowMs ? " (due)" : "");
        }
        else
        {
            out << "not scheduled";
        }
        out << "\n  why: " << i.reason << "\n";
        for (const auto& a : i.actions)
        {
            out << "  " << a << "\n";
        }
        for (const auto& p : i.problems)
        {
            out << "  problem: " << p << "\n";
        }
        for (const auto& w : i.warnings)
        {
            out << "  warning: " << w << "\n";
        }
    }
    if (items.empty())
    {
        out << "no credentials configured\n";
    }
}

void printCredentialsTable(std::ostream& out, const std::vector<CredentialView>& rows,
                           std::int64_t nowMs, const std::string& installationId)
{
    if (!installationId.empty())
    {
        out << "installation " << installationId << "\n";
    }
    if (rows.empty())
    {
        out << "no credentials configured (credentials.<name>.* in the configuration)\n";
        return;
    }
    TextTable table({"NAME", "CLIENT ID", "AGE", "MAX", "STATE", "NEXT ROTATION"});
    for (const auto& r : rows)
    {
        std::string next = "-";
        if (r.nextRotationAtMs)
        {
            next = *r.nextRotationAtMs <= nowMs ? "due now" : shortTime(*r.nextRotationAtMs);
        }
        table.add({r.name, r.clientId.empty() ? "(none yet)" : r.clientId,
                   r.ageSeconds ? core::formatAge(*r.ageSeconds) : "-",
                   core::formatDuration(r.maxAgeSeconds * 1000), r.state, next});
    }
    table.print(out);
    for (const auto& r : rows)
    {
        if (r.currentMissing)
        {
            out << r.name << ": current client " << r.clientId
                << " is no longer listed; consumers hold a dead token until it is replaced\n";
        }
        if (r.state == "retired")
        {
            out << r.name << ": no longer configured; its clients stay alive until "
                << "`astra-rotator retire " << r.name << " --revoke`\n";
        }
        if (!r.previousClientId.empty())
        {
            out << r.name << ": previous client " << r.previousClientId << " revoked after "
                << (r.revokeAfterMs ? shortTime(*r.revokeAfterMs) : "-") << "\n";
        }
        if (r.lastRotation && r.lastRotation->error)
        {
            out << r.name << ": last rotation " << r.lastRotation->id << " "
                << r.lastRotation->state << ": " << *r.lastRotation->error << "\n";
        }
    }
}

void printNotificationBacklog(std::ostream& out, const store::NotificationBacklog& backlog,
                              std::int64_t nowMs)
{
    out << "notifications: " << backlog.pending << " pending";
    if (backlog.oldestPendingMs)
    {
        out << ", the oldest queued " << core::formatAge((nowMs - *backlog.oldestPendingMs) / 1000)
            << " ago (" << shortTime(*backlog.oldestPendingMs) << ")";
    }
    if (backlog.failed > 0)
    {
        out << "; " << backlog.failed << " refused for good by their receiver (not retried)";
    }
    out << "\n";
}

void printClientsTable(std::ostream& out, const std::vector<ClientView>& rows)
{
    if (rows.empty())
    {
        out << "no clients\n";
        return;
    }
    TextTable table({"CLIENT ID", "CREDENTIAL", "STATUS", "AGE", "GENERATED (UTC)"});
    for (const auto& r : rows)
    {
        const auto when = core::parseRfc3339(r.generatedOn);
        table.add({r.clientId, r.credential.empty() ? "-" : r.credential, r.status,
                   core::formatAge(r.ageSeconds),
                   when ? shortTime(when->unixMs()) : r.generatedOn});
    }
    table.print(out);
}

void printEventsTable(std::ostream& out, const std::vector<store::EventRow>& rows)
{
    if (rows.empty())
    {
        out << "no events\n";
        return;
    }
    TextTable table({"AT (UTC)", "CREDENTIAL", "CLIENT ID", "EVENT", "DETAIL"});
    for (const auto& e : rows)
    {
        // To the second: events of one rotation come seconds apart.
        const std::string at = core::formatRfc3339Seconds(e.atMs);
        table.add({at.substr(0, 10) + " " + at.substr(11, 8), e.credential.empty() ? "-" : e.credential,
                   e.clientId.empty() ? "-" : e.clientId, e.event, e.detail});
    }
    table.print(out);
}

TextTable::TextTable(std::vector<std::string> header)
{
    _rows.push_back(std::move(header));
}

void TextTable::add(std::vector<std::string> row)
{
    _rows.push_back(std::move(row));
}

void TextTable::print(std::ostream& out) const
{
    std::vector<std::size_t> widths;
    for (const auto& row : _rows)
    {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i)
        {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    for (const auto& row : _rows)
    {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
        {
            line += row[i];
            if (i + 1 < row.size())
            {
                line += std::string(widths[i] - row[i].size() + 2, ' ');
            }
        }
        out << line << "\n";
    }
}

} // namespace rotator::report
