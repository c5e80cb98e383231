#include "rotator/store/SqliteStateStore.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "rotator/core/Errors.h"
#include "rotator/core/JsonString.h"
#include "rotator/core/Marker.h"
#include "rotator/store/Migrator.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"

namespace rotator::store
{
namespace
{

std::string rolesToJson(const std::vector<std::string>& roles)
{
    std::string out = "[";
    for (std::size_t i = 0; i < roles.size(); ++i)
    {
        if (i > 0)
        {
            out += ',';
        }
        core::appendJsonString(out, roles[i]);
    }
    out += ']';
    return out;
}

std::vector<std::string> rolesFromJson(const std::string& json, const std::string& clientId)
{
    std::vector<std::string> roles;
    try
    {
        Poco::JSON::Parser parser;
        const Poco::JSON::Array::Ptr array = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
        for (std::size_t i = 0; i < array->size(); ++i)
        {
            const Poco::Dynamic::Var value = array->get(static_cast<unsigned>(i));
            if (!value.isString())
            {
                throw core::StoreError("roles of client " + clientId + " hold a non-string");
            }
            roles.push_back(value.extract<std::string>());
        }
    }
    catch (const Poco::Exception&)
    {
        throw core::StoreError("roles of client " + clientId + " are not a JSON array");
    }
    return roles;
}

// The first row of a query that matches at most one.
template <typename T> std::optional<T> firstOf(std::vector<T> rows)
{
    if (rows.empty())
    {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::optional<std::string> nullIfEmpty(const std::string& text)
{
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

/// Which credential a client belongs to (as current or previous), for inventory events.
std::map<std::string, std::string> credentialsByClient(Database& db)
{
    std::map<std::string, std::string> result;
    Statement query = db.prepare("SELECT client_id, min(name) FROM ("
                                 "  SELECT current_client_id AS client_id, name FROM credentials"
                                 "  UNION ALL SELECT previous_client_id, name FROM credentials)"
                                 " WHERE client_id IS NOT NULL GROUP BY client_id");
    while (query.step())
    {
        result.emplace(query.getText(0), query.getText(1));
    }
    return result;
}

constexpr const char* kClientColumns =
    "SELECT c.client_id, c.roles, c.generated_on, c.generated_on_ms, c.description,"
    " c.token_expiry, c.first_seen_ms, c.last_seen_ms, c.disappeared_ms, c.revoked_ms,"
    " t.credential, t.status"
    " FROM clients AS c JOIN token_ages AS t ON t.client_id = c.client_id";

constexpr const char* kCredentialColumns =
    "SELECT name, current_client_id, previous_client_id, revoke_after_ms, state,"
    " consecutive_failures, next_attempt_ms, last_rotation_id, last_success_ms, created_ms,"
    " updated_ms, retired_ms FROM credentials";

std::string readInstallationId(Database& db)
{
    Statement query = db.prepare("SELECT installation_id FROM installation");
    std::string id = query.step() ? query.getText(0) : std::string();
    if (!core::isInstallationId(id))
    {
        throw core::StoreError(db.path() + ": the installation id is missing or malformed");
    }
    return id;
}

} // namespace

SqliteStateStore::SqliteStateStore(const std::string& path) : _db(path, OpenMode::ReadWrite)
{
    Migrator(_db).migrate();
    _installationId = readInstallationId(_db);
}

SqliteStateStore::SqliteStateStore(Database db) : _db(std::move(db))
{
    requireCurrentSchema(_db);
    _installationId = readInstallationId(_db);
}

std::string SqliteStateStore::installationId() const
{
    return _installationId;
}

std::unique_ptr<SqliteStateStore> SqliteStateStore::openReadOnly(const std::string& path)
{
    return std::make_unique<SqliteStateStore>(Database(path, OpenMode::ReadOnly));
}

void SqliteStateStore::requireWritable() const
{
    if (_db.readOnly())
    {
        throw core::StoreError(_db.path() + ": opened read-only");
    }
}

SyncResult SqliteStateStore::syncInventory(const std::vector<core::ClientInfo>& clients,
                                           std::int64_t nowMs)
{
    requireWritable();
    Transaction transaction(_db);

    struct Known
    {
        bool missing = false;
        bool revoked = false;
    };
    std::map<std::string, Known> known;
    {
        Statement query = _db.prepare(
            "SELECT client_id, disappeared_ms IS NOT NULL, revoked_ms IS NOT NULL FROM clients");
        while (query.step())
        {
            known.emplace(query.getText(0), Known{query.getInt(1) != 0, query.getInt(2) != 0});
        }
    }
    const std::map<std::string, std::string> credentialOf = credentialsByClient(_db);

    Statement insert = _db.prepare(
        "INSERT INTO clients (client_id, roles, description, token_expiry, generated_on,"
        " generated_on_ms, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
    Statement update = _db.prepare(
        "UPDATE clients SET roles = ?2, description = ?3, token_expiry = ?4, generated_on = ?5,"
        " generated_on_ms = ?6, last_seen_ms = max(last_seen_ms, ?7), disappeared_ms = NULL"
        " WHERE client_id = ?1");
    // A revoked client listed again: only remember that it was seen (the engine decides), and
    // that it is not gone after all.
    Statement touch = _db.prepare("UPDATE clients SET last_seen_ms = max(last_seen_ms, ?2),"
                                  " disappeared_ms = NULL WHERE client_id = ?1");
    Statement markMissing =
        _db.prepare("UPDATE clients SET disappeared_ms = ?2 WHERE client_id = ?1");
    // A revoked client the list no longer shows is confirmed gone: `ages` hides it (no event,
    // revoke_confirmed or orphan_revoked said it already).
    Statement markGone = _db.prepare(
        "UPDATE clients SET disappeared_ms = ?2 WHERE client_id = ?1 AND disappeared_ms IS NULL");
    Statement event = _db.prepare("INSERT INTO events (at_ms, credential, client_id, event, detail)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5)");
    auto record = [&](const std::string& clientId, const char* name, const char* detail)
    {
        const auto owner = credentialOf.find(clientId);
        event.reset();
        event.bind(1, nowMs);
        if (owner != credentialOf.end())
        {
            event.bind(2, owner->second);
        }
        else
        {
            event.bindNull(2);
        }
        event.bind(3, clientId).bind(4, name).bind(5, detail);
        event.execute();
    };

    SyncResult result;
    std::set<std::string> listed;
    for (const core::ClientInfo& client : clients)
    {
        if (!listed.insert(client.clientId).second)
        {
            continue; // the list named it twice
        }
        ++result.present;
        const auto it = known.find(client.clientId);
        if (it != known.end() && it->second.revoked)
        {
            touch.reset();
            touch.bind(1, client.clientId).bind(2, nowMs).execute();
            continue;
        }
        Statement& statement = it == known.end() ? insert : update;
        statement.reset();
        statement.bind(1, client.clientId)
            .bind(2, rolesToJson(client.roles))
            .bind(3, client.description)
            .bind(4, client.tokenExpiry)
            .bind(5, client.generatedOn)
            .bind(6, client.generatedOnMs)
            .bind(7, nowMs);
        statement.execute();
        if (it == known.end())
        {
            record(client.clientId, "discovered", "");
            ++result.discovered;
        }
        else if (it->second.missing)
        {
            record(client.clientId, "discovered", "reappeared");
            ++result.reappeared;
        }
    }
    for (const auto& [clientId, state] : known)
    {
        if (state.revoked && !state.missing && listed.count(clientId) == 0)
        {
            markGone.reset();
            markGone.bind(1, clientId).bind(2, nowMs).execute();
            continue;
        }
        if (state.revoked || state.missing || listed.count(clientId) != 0)
        {
            continue;
        }
        markMissing.reset();
        markMissing.bind(1, clientId).bind(2, nowMs).execute();
        record(clientId, "disappeared", "");
        ++result.disappeared;
    }
    transaction.commit();
    return result;
}

std::vector<ClientRow> SqliteStateStore::queryClients(const std::string* clientId) const
{
    std::string sql = kClientColumns;
    sql += clientId != nullptr ? " WHERE c.client_id = ?1" : "";
    sql += " ORDER BY c.generated_on_ms, c.client_id";
    Statement query = _db.prepare(sql);
    if (clientId != nullptr)
    {
        query.bind(1, *clientId);
    }
    std::vector<ClientRow> rows;
    while (query.step())
    {
        ClientRow row;
        row.clientId = query.getText(0);
        row.roles = rolesFromJson(query.getText(1), row.clientId);
        row.generatedOn = query.getText(2);
        row.generatedOnMs = query.getInt64(3);
        row.description = query.getOptionalText(4);
        row.tokenExpiry = query.getOptionalText(5);
        row.firstSeenMs = query.getInt64(6);
        row.lastSeenMs = query.getInt64(7);
        row.disappearedMs = query.getOptionalInt64(8);
        row.revokedMs = query.getOptionalInt64(9);
        row.credential = query.getText(10);
        row.status = query.getText(11);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<ClientRow> SqliteStateStore::listClients() const
{
    return queryClients(nullptr);
}

std::optional<ClientRow> SqliteStateStore::findClient(const std::string& clientId) const
{
    return firstOf(queryClients(&clientId));
}

bool SqliteStateStore::markClientRevoked(const std::string& clientId, std::int64_t nowMs)
{
    requireWritable();
    // The credential it belonged to is kept: `ages` shows whose client was revoked.
    Statement update = _db.prepare(
        "UPDATE clients SET revoked_ms = ?2, credential = coalesce("
        " (SELECT min(name) FROM credentials WHERE current_client_id = ?1),"
        " (SELECT min(name) FROM credentials WHERE previous_client_id = ?1), credential)"
        " WHERE client_id = ?1 AND revoked_ms IS NULL");
    return update.bind(1, clientId).bind(2, nowMs).execute() > 0;
}

std::vector<EventRow> SqliteStateStore::history(const HistoryQuery& query) const
{
    std::string sql =
        "SELECT id, at_ms, credential, client_id, rotation_id, event, detail FROM events";
    std::vector<std::string> conditions;
    if (!query.credential.empty())
    {
        conditions.push_back("credential = ?1");
    }
    if (!query.clientId.empty())
    {
        conditions.push_back("client_id = ?2");
    }
    if (query.sinceMs)
    {
        conditions.push_back("at_ms >= ?3");
    }
    for (std::size_t i = 0; i < conditions.size(); ++i)
    {
        sql += i == 0 ? " WHERE " : " AND ";
        sql += conditions[i];
    }
    sql += " ORDER BY at_ms DESC, id DESC LIMIT ?4";

    Statement statement = _db.prepare(sql);
    if (!query.credential.empty())
    {
        statement.bind(1, query.credential);
    }
    if (!query.clientId.empty())
    {
        statement.bind(2, query.clientId);
    }
    if (query.sinceMs)
    {
        statement.bind(3, *query.sinceMs);
    }
    statement.bind(4, query.limit > 0 ? query.limit : -1); // a negative LIMIT means none

    std::vector<EventRow> rows;
    while (statement.step())
    {
        EventRow row;
        row.id = statement.getInt64(0);
        row.atMs = statement.getInt64(1);
        row.credential = statement.getText(2);
        row.clientId = statement.getText(3);
        row.rotationId = statement.getOptionalInt64(4);
        row.event = statement.getText(5);
        row.detail = statement.getText(6);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::int64_t SqliteStateStore::appendEvent(const EventRow& event)
{
    requireWritable();
    Statement insert =
        _db.prepare("INSERT INTO events (at_ms, credential, client_id, rotation_id, event, detail)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    insert.bind(1, event.atMs)
        .bind(2, nullIfEmpty(event.credential))
        .bind(3, nullIfEmpty(event.clientId))
        .bind(4, event.rotationId)
        .bind(5, event.event)
        .bind(6, event.detail);
    insert.execute();
    return _db.lastInsertRowId();
}

void SqliteStateStore::ensureCredentials(const std::vector<std::string>& names, std::int64_t nowMs)
{
    requireWritable();
    Transaction transaction(_db);
    Statement insert = _db.prepare(
        "INSERT INTO credentials (name, state, consecutive_failures, created_ms, updated_ms)"
        " VALUES (?1, 'idle', 0, ?2, ?2) ON CONFLICT (name) DO NOTHING");
    for (const std::string& name : names)
    {
        insert.reset();
        insert.bind(1, name).bind(2, nowMs).execute();
    }
    transaction.commit();
}

std::vector<std::string>
SqliteStateStore::retireUnconfigured(const std::vector<std::string>& configured, std::int64_t nowMs)
{
    requireWritable();
    Transaction transaction(_db);
    const std::string names = rolesToJson(configured); // a JSON array of strings
    std::vector<std::string> retired;
    {
        Statement query =
            _db.prepare("SELECT name FROM credentials WHERE retired_ms IS NULL"
                        " AND (current_client_id IS NOT NULL OR previous_client_id IS NOT NULL)"
                        " AND name NOT IN (SELECT value FROM json_each(?1)) ORDER BY name");
        query.bind(1, names);
        while (query.step())
        {
            retired.push_back(query.getText(0));
        }
    }
    Statement update = _db.prepare(
        "UPDATE credentials SET retired_ms = CASE WHEN name IN (SELECT value FROM json_each(?1))"
        " THEN NULL ELSE coalesce(retired_ms, ?2) END"
        " WHERE (retired_ms IS NULL) = (name NOT IN (SELECT value FROM json_each(?1)))");
    update.bind(1, names).bind(2, nowMs).execute();
    transaction.commit();
    return retired;
}

std::vector<CredentialRow> SqliteStateStore::queryCredentials(const std::string* name) const
{
    std::string sql = kCredentialColumns;
    sql += name != nullptr ? " WHERE name = ?1" : "";
    sql += " ORDER BY name";
    Statement query = _db.prepare(sql);
    if (name != nullptr)
    {
        query.bind(1, *name);
    }
    std::vector<CredentialRow> rows;
    while (query.step())
    {
        CredentialRow row;
        row.name = query.getText(0);
        row.currentClientId = query.getText(1);
        row.previousClientId = query.getText(2);
        row.revokeAfterMs = query.getOptionalInt64(3);
        row.state = query.getText(4);
        row.consecutiveFailures = query.getInt(5);
        row.nextAttemptMs = query.getOptionalInt64(6);
        row.lastRotationId = query.getOptionalInt64(7);
        row.lastSuccessMs = query.getOptionalInt64(8);
        row.createdMs = query.getInt64(9);
        row.updatedMs = query.getInt64(10);
        row.retiredMs = query.getOptionalInt64(11);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<CredentialRow> SqliteStateStore::listCredentials() const
{
    return queryCredentials(nullptr);
}

std::optional<CredentialRow> SqliteStateStore::findCredential(const std::string& name) const
{
    return firstOf(queryCredentials(&name));
}

void SqliteStateStore::saveCredential(const CredentialRow& row)
{
    requireWritable();
    Transaction transaction(_db);
    // The client columns apart: SQLite rewrites the entries of every index whose columns an
    // UPDATE sets, changed or not, and most saves (state, counters, times) leave them as they are.
    Statement update = _db.prepare(
        "UPDATE credentials SET revoke_after_ms = ?2, state = ?3, consecutive_failures = ?4,"
        " next_attempt_ms = ?5, last_rotation_id = ?6, last_success_ms = ?7, updated_ms = ?8"
        " WHERE name = ?1");
    update.bind(1, row.name)
        .bind(2, row.revokeAfterMs)
        .bind(3, row.state)
        .bind(4, row.consecutiveFailures)
        .bind(5, row.nextAttemptMs)
        .bind(6, row.lastRotationId)
        .bind(7, row.lastSuccessMs)
        .bind(8, row.updatedMs);
    if (update.execute() == 0)
    {
        // Not ensured yet: its row first, then the same update into it.
        Statement insert = _db.prepare(
            "INSERT INTO credentials (name, state, consecutive_failures, created_ms, updated_ms)"
            " VALUES (?1, ?2, 0, ?3, ?4)");
        insert.bind(1, row.name)
            .bind(2, row.state)
            .bind(3, row.createdMs != 0 ? row.createdMs : row.updatedMs)
            .bind(4, row.updatedMs);
        insert.execute();
        update.reset();
        update.execute();
    }
    Statement clients = _db.prepare(
        "UPDATE credentials SET current_client_id = ?2, previous_client_id = ?3 WHERE name = ?1"
        " AND (current_client_id IS NOT ?2 OR previous_client_id IS NOT ?3)");
    clients.bind(1, row.name)
        .bind(2, nullIfEmpty(row.currentClientId))
        .bind(3, nullIfEmpty(row.previousClientId));
    if (clients.execute() > 0)
    {
        // Remembered on the clients, so a revoked one still names its credential.
        Statement owner = _db.prepare("UPDATE clients SET credential = ?1"
                                      " WHERE client_id IN (?2, ?3) AND credential IS NOT ?1");
        owner.bind(1, row.name)
            .bind(2, nullIfEmpty(row.currentClientId))
            .bind(3, nullIfEmpty(row.previousClientId));
        owner.execute();
    }
    transaction.commit();
}

void SqliteStateStore::recordClient(const core::ClientInfo& client, const std::string& credential,
                                    std::int64_t nowMs)
{
    requireWritable();
    Statement insert = _db.prepare(
        "INSERT INTO clients (client_id, roles, description, token_expiry, generated_on,"
        " generated_on_ms, first_seen_ms, last_seen_ms, credential)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) ON CONFLICT (client_id) DO NOTHING");
    insert.bind(1, client.clientId)
        .bind(2, rolesToJson(client.roles))
        .bind(3, client.description)
        .bind(4, client.tokenExpiry)
        .bind(5, client.generatedOn)
        .bind(6, client.generatedOnMs)
        .bind(7, nowMs)
        .bind(8, nullIfEmpty(credential));
    insert.execute();
}

RotationRow SqliteStateStore::beginRotation(const std::string& credential,
                                            const std::string& trigger,
                                            const std::string& oldClientId, std::int64_t nowMs)
{
    requireWritable();
    Transaction transaction(_db);
    // The marker carries the row's ID, so the ID is chosen first, as SQLite would choose it
    // (the largest plus one): the row is inserted with its marker, not updated after.
    const std::int64_t id = _db.queryInt("SELECT coalesce(max(id), 0) + 1 FROM rotations");
    std::string marker = core::formatMarker(_installationId, credential, id);
    Statement insert = _db.prepare(
        "INSERT INTO rotations (id, credential, stage, \"trigger\", old_client_id, started_ms,"
        " updated_ms, marker) VALUES (?1, ?2, 'planned', ?3, ?4, ?5, ?5, ?6)");
    insert.bind(1, id)
        .bind(2, credential)
        .bind(3, trigger)
        .bind(4, nullIfEmpty(oldClientId))
        .bind(5, nowMs)
        .bind(6, marker);
    insert.execute();
    transaction.commit();
    RotationRow row;
    row.id = id;
    row.credential = credential;
    row.trigger = trigger;
    row.marker = std::move(marker);
    row.oldClientId = oldClientId;
    row.startedMs = nowMs;
    row.updatedMs = nowMs;
    return row;
}

void SqliteStateStore::saveRotation(const RotationRow& row)
{
    requireWritable();
    Statement update = _db.prepare(
        "UPDATE rotations SET stage = ?2, new_client_id = ?3, org_id = ?4, mint_started_ms = ?5,"
        " mint_finished_ms = ?6, updated_ms = ?7, finished_ms = ?8, error = ?9, attempts = ?10,"
        " old_client_id = ?11, no_grace = ?12 WHERE id = ?1");
    update.bind(1, row.id)
        .bind(2, row.stage)
        .bind(3, nullIfEmpty(row.newClientId))
        .bind(4, nullIfEmpty(row.orgId))
        .bind(5, row.mintStartedMs)
        .bind(6, row.mintFinishedMs)
        .bind(7, row.updatedMs)
        .bind(8, row.finishedMs)
        .bind(9, row.error)
        .bind(10, row.attempts)
        .bind(11, nullIfEmpty(row.oldClientId))
        .bind(12, row.noGrace ? 1 : 0);
    if (update.execute() != 1)
    {
        throw core::StoreError("rotation " + std::to_string(row.id) + " does not exist in " +
                               _db.path());
    }
}

std::vector<RotationRow> SqliteStateStore::queryRotations(const std::string& where,
                                                          const std::string& key,
                                                          std::int64_t id) const
{
    Statement query = _db.prepare(
        "SELECT id, credential, stage, \"trigger\", coalesce(marker, ''),"
        " coalesce(old_client_id, ''), coalesce(new_client_id, ''), coalesce(org_id, ''),"
        " mint_started_ms, mint_finished_ms, started_ms, updated_ms, finished_ms, error, attempts,"
        " no_grace FROM rotations " +
        where);
    if (where.find("?1") != std::string::npos)
    {
        if (key.empty())
        {
            query.bind(1, id);
        }
        else
        {
            query.bind(1, key);
        }
    }
    std::vector<RotationRow> out;
    while (query.step())
    {
        RotationRow r;
        r.id = query.getInt64(0);
        r.credential = query.getText(1);
        r.stage = query.getText(2);
        r.trigger = query.getText(3);
        r.marker = query.getText(4);
        r.oldClientId = query.getText(5);
        r.newClientId = query.getText(6);
        r.orgId = query.getText(7);
        r.mintStartedMs = query.getOptionalInt64(8);
        r.mintFinishedMs = query.getOptionalInt64(9);
        r.startedMs = query.getInt64(10);
        r.updatedMs = query.getInt64(11);
        r.finishedMs = query.getOptionalInt64(12);
        r.error = query.getOptionalText(13);
        r.attempts = query.getInt(14);
        r.noGrace = query.getInt(15) != 0;
        out.push_back(std::move(r));
    }
    return out;
}

std::optional<RotationRow> SqliteStateStore::findRotation(std::int64_t id) const
{
    return firstOf(queryRotations("WHERE id = ?1", "", id));
}

std::vector<RotationRow> SqliteStateStore::unfinishedRotations() const
{
    return queryRotations("WHERE finished_ms IS NULL ORDER BY id", "", 0);
}

std::optional<RotationRow> SqliteStateStore::lastRotation(const std::string& credential) const
{
    return firstOf(queryRotations("WHERE credential = ?1 ORDER BY id DESC LIMIT 1", credential, 0));
}

void SqliteStateStore::saveSinkState(std::int64_t rotationId, const SinkStateRow& row)
{
    requireWritable();
    Statement upsert = _db.prepare(
        "INSERT INTO rotation_sinks (rotation_id, sink, state, attempts, last_error, delivered_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (rotation_id, sink) DO UPDATE SET"
        " state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,"
        " delivered_ms = excluded.delivered_ms");
    upsert.bind(1, rotationId)
        .bind(2, row.sink)
        .bind(3, row.state)
        .bind(4, row.attempts)
        .bind(5, row.lastError)
        .bind(6, row.deliveredMs);
    upsert.execute();
}

std::vector<SinkStateRow> SqliteStateStore::sinkStates(std::int64_t rotationId) const
{
    Statement query = _db.prepare("SELECT sink, state, attempts, last_error, delivered_ms"
                                  " FROM rotation_sinks WHERE rotation_id = ?1 ORDER BY sink");
    query.bind(1, rotationId);
    std::vector<SinkStateRow> out;
    while (query.step())
    {
        SinkStateRow r;
        r.sink = query.getText(0);
        r.state = query.getText(1);
        r.attempts = query.getInt(2);
        r.lastError = query.getOptionalText(3);
        r.deliveredMs = query.getOptionalInt64(4);
        out.push_back(std::move(r));
    }
    return out;
}

void SqliteStateStore::runInTransaction(const std::function<void()>& work)
{
    requireWritable();
    Transaction transaction(_db);
    work();
    transaction.commit();
}

std::vector<std::exception_ptr>
SqliteStateStore::runBatch(const std::vector<std::function<void()>>& units)
{
    std::vector<std::exception_ptr> errors(units.size());
    try
    {
        requireWritable();
        Transaction batch(_db);
        if (units.size() == 1)
        {
            // Most batches hold one unit: its transaction is its undo, no savepoint needed
            // (a savepoint makes SQLite copy each page the unit changes).
            units.front()();
            batch.commit();
            return errors;
        }
        for (std::size_t i = 0; i < units.size(); ++i)
        {
            try
            {
                Transaction unit(_db); // a savepoint: a unit that throws undoes only itself
                units[i]();
                unit.commit();
            }
            catch (...)
            {
                errors[i] = std::current_exception();
                if (_db.autocommit())
                {
                    // SQLite rolled the whole transaction back (it does on a full disk or an
                    // I/O error): the units before this one are gone too.
                    throw;
                }
            }
        }
        batch.commit();
    }
    catch (...)
    {
        std::fill(errors.begin(), errors.end(), std::current_exception());
    }
    return errors;
}

} // namespace rotator::store
