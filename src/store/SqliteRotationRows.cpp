#include "rotator/store/SqliteStateStore.h"

#include <utility>

#include "rotator/core/Errors.h"
#include "rotator/core/Lifecycle.h"
#include "rotator/core/Marker.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"

#include "SqliteRows.h"

// The credentials, the rotation journal and its sinks' delivery states of SqliteStateStore (the
// lifecycle rows: their enums become text here and only here).

namespace rotator::store
{
namespace
{

using sqlite_rows::enumColumn;
using sqlite_rows::firstOf;
using sqlite_rows::nullIfEmpty;
using sqlite_rows::prepareAllOrOne;
using sqlite_rows::rolesToJson;

constexpr const char* kCredentialColumns =
    "SELECT name, current_client_id, previous_client_id, revoke_after_ms, state,"
    " consecutive_failures, next_attempt_ms, last_rotation_id, last_success_ms, created_ms,"
    " updated_ms, retired_ms FROM credentials";

} // namespace

void SqliteStateStore::ensureCredentials(const std::vector<std::string>& names, std::int64_t nowMs)
{
    requireWritable();
    Transaction transaction(_db);
    Statement insert = _db.prepare(
        "INSERT INTO credentials (name, state, consecutive_failures, created_ms, updated_ms)"
        " VALUES (?1, ?3, 0, ?2, ?2) ON CONFLICT (name) DO NOTHING");
    for (const std::string& name : names)
    {
        insert.reset();
        insert.bind(1, name)
            .bind(2, nowMs)
            .bind(3, core::toString(core::CredentialState::Idle))
            .execute();
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
    Statement query = prepareAllOrOne(_db, kCredentialColumns, "name", name, "name");
    std::vector<CredentialRow> rows;
    while (query.step())
    {
        CredentialRow row;
        row.name = query.getText(0);
        row.currentClientId = query.getText(1);
        row.previousClientId = query.getText(2);
        row.revokeAfterMs = query.getOptionalInt64(3);
        row.state = enumColumn(core::credentialStateFromString, query.getText(4),
                               "credentials.state", _db.path());
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
        .bind(3, core::toString(row.state))
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
            .bind(2, core::toString(row.state))
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
        " updated_ms, marker) VALUES (?1, ?2, ?7, ?3, ?4, ?5, ?5, ?6)");
    insert.bind(1, id)
        .bind(2, credential)
        .bind(3, trigger)
        .bind(4, nullIfEmpty(oldClientId))
        .bind(5, nowMs)
        .bind(6, marker)
        .bind(7, core::toString(core::Stage::Planned));
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
        .bind(2, core::toString(row.stage))
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

std::vector<RotationRow>
SqliteStateStore::queryRotations(const std::string& where,
                                 const std::function<void(Statement&)>& bind) const
{
    Statement query = _db.prepare(
        "SELECT id, credential, stage, \"trigger\", coalesce(marker, ''),"
        " coalesce(old_client_id, ''), coalesce(new_client_id, ''), coalesce(org_id, ''),"
        " mint_started_ms, mint_finished_ms, started_ms, updated_ms, finished_ms, error, attempts,"
        " no_grace FROM rotations " +
        where);
    bind(query);
    std::vector<RotationRow> out;
    while (query.step())
    {
        RotationRow r;
        r.id = query.getInt64(0);
        r.credential = query.getText(1);
        r.stage =
            enumColumn(core::stageFromString, query.getText(2), "rotations.stage", _db.path());
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
    return firstOf(queryRotations("WHERE id = ?1", [&](Statement& q) { q.bind(1, id); }));
}

std::vector<RotationRow> SqliteStateStore::unfinishedRotations() const
{
    return queryRotations("WHERE finished_ms IS NULL ORDER BY id", [](Statement&) {});
}

std::optional<RotationRow> SqliteStateStore::lastRotation(const std::string& credential) const
{
    return firstOf(queryRotations("WHERE credential = ?1 ORDER BY id DESC LIMIT 1",
                                  [&](Statement& q) { q.bind(1, credential); }));
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
        .bind(3, core::toString(row.state))
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
        r.state = enumColumn(core::sinkDeliveryFromString, query.getText(1), "rotation_sinks.state",
                             _db.path());
        r.attempts = query.getInt(2);
        r.lastError = query.getOptionalText(3);
        r.deliveredMs = query.getOptionalInt64(4);
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace rotator::store
