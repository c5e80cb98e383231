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

#include "SqliteRows.h"

namespace rotator::store
{

std::string sqlite_rows::rolesToJson(const std::vector<std::string>& roles)
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

namespace
{

using sqlite_rows::firstOf;
using sqlite_rows::nullIfEmpty;
using sqlite_rows::prepareAllOrOne;
using sqlite_rows::rolesToJson;

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
    announceCommitted();
    return result;
}

std::vector<ClientRow> SqliteStateStore::queryClients(const std::string* clientId) const
{
    Statement query = prepareAllOrOne(_db, kClientColumns, "c.client_id", clientId,
                                      "c.generated_on_ms, c.client_id");
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
    if (!query.events.empty())
    {
        std::string in = "event IN (";
        for (std::size_t i = 0; i < query.events.size(); ++i)
        {
            in += (i == 0 ? "?" : ", ?") + std::to_string(5 + i);
        }
        conditions.push_back(in + ")");
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
    for (std::size_t i = 0; i < query.events.size(); ++i)
    {
        statement.bind(static_cast<int>(5 + i), query.events[i]);
    }

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
    const std::int64_t id = _db.lastInsertRowId();
    announceCommitted(); // outside a transaction the statement committed its notifications
    return id;
}

void SqliteStateStore::runInTransaction(const std::function<void()>& work)
{
    requireWritable();
    Transaction transaction(_db);
    work();
    transaction.commit();
    announceCommitted();
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
            announceCommitted();
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
        announceCommitted();
    }
    catch (...)
    {
        std::fill(errors.begin(), errors.end(), std::current_exception());
    }
    return errors;
}

} // namespace rotator::store
