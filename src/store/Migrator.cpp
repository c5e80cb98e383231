#include "rotator/store/Migrator.h"

#include <cstdio>
#include <string>
#include <utility>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"

namespace rotator::store
{
namespace
{

void validate(const std::vector<Migration>& migrations)
{
    int expected = 1;
    for (const Migration& migration : migrations)
    {
        if (migration.version != expected)
        {
            throw core::InvariantError("migration " + migration.name + " has version " +
                                       std::to_string(migration.version) + ", expected " +
                                       std::to_string(expected));
        }
        ++expected;
    }
}

int latestOf(const std::vector<Migration>& migrations)
{
    return migrations.empty() ? 0 : migrations.back().version;
}

std::string hex32(std::int64_t value)
{
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08x", static_cast<unsigned>(value));
    return buffer;
}

int readUserVersion(Database& db)
{
    return static_cast<int>(db.queryInt("PRAGMA user_version"));
}

/// Refuses a file that is not ours, or a schema newer than `latest`.
void checkOwnership(Database& db, int latest)
{
    const std::int64_t applicationId = db.queryInt("PRAGMA application_id");
    const int version = readUserVersion(db);
    const std::string refuse = "refusing " + db.path() + ": ";
    const std::string elsewhere = "; point state.dir elsewhere";
    if (applicationId == 0)
    {
        Statement tables = db.prepare("SELECT name FROM sqlite_schema "
                                      "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                                      "ORDER BY name LIMIT 1");
        if (tables.step())
        {
            throw core::StoreError(refuse + "it is not an astra-rotator database (it holds '" +
                                   tables.getText(0) + "' and no astra-rotator application_id)" +
                                   elsewhere);
        }
        if (version != 0)
        {
            throw core::StoreError(refuse + "it is not an astra-rotator database (user_version " +
                                   std::to_string(version) + " without an application_id)" +
                                   elsewhere);
        }
        return;
    }
    if (applicationId != kApplicationId)
    {
        throw core::StoreError(refuse + "it is not an astra-rotator database (application_id " +
                               hex32(applicationId) + ")" + elsewhere);
    }
    if (version > latest)
    {
        throw core::StoreError(db.path() + ": schema version " + std::to_string(version) +
                               " is newer than this astra-rotator supports (" +
                               std::to_string(latest) +
                               "); upgrade astra-rotator or point state.dir elsewhere");
    }
}

void checkForeignKeys(Database& db)
{
    Statement check = db.prepare("PRAGMA foreign_key_check");
    if (check.step())
    {
        throw core::StoreError(db.path() + ": foreign key violation in table " + check.getText(0));
    }
}

/// Turns foreign keys off for the migrations and back on afterwards, whatever happens.
class ForeignKeysOff
{
public:
    explicit ForeignKeysOff(Database& db) : _db(db) { _db.exec("PRAGMA foreign_keys = OFF"); }
    ~ForeignKeysOff()
    {
        try
        {
            _db.exec("PRAGMA foreign_keys = ON");
        }
        catch (...)
        {
            // Only fails inside a transaction, which the Transaction guards have closed.
        }
    }
    ForeignKeysOff(const ForeignKeysOff&) = delete;
    ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

private:
    Database& _db;
};

} // namespace

Migrator::Migrator(Database& db, std::vector<Migration> migrations)
    : _db(db), _migrations(std::move(migrations))
{
    validate(_migrations);
}

int Migrator::currentVersion() const
{
    return readUserVersion(_db);
}

int Migrator::latestVersion() const
{
    return latestOf(_migrations);
}

MigrationResult Migrator::migrate()
{
    const int latest = latestVersion();
    checkOwnership(_db, latest);
    MigrationResult result;
    result.fromVersion = currentVersion();
    result.toVersion = result.fromVersion;
    if (result.fromVersion == latest)
    {
        return result;
    }

    ForeignKeysOff foreignKeysOff(_db);
    for (const Migration& migration : _migrations)
    {
        Transaction transaction(_db);
        // Read again under the write lock: another process may have migrated meanwhile.
        const int version = currentVersion();
        if (migration.version <= version)
        {
            continue;
        }
        try
        {
            if (_db.queryInt("PRAGMA application_id") == 0)
            {
                _db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
            }
            _db.exec(migration.sql);
            checkForeignKeys(_db);
            _db.exec("PRAGMA user_version = " + std::to_string(migration.version));
            transaction.commit();
        }
        catch (const core::StoreError& e)
        {
            std::string reason = e.what();
            const std::string prefix = _db.path() + ": ";
            if (reason.rfind(prefix, 0) == 0)
            {
                reason.erase(0, prefix.size());
            }
            throw core::StoreError(_db.path() + ": migration " + migration.name +
                                   ".sql failed, the database stays at schema version " +
                                   std::to_string(version) + ": " + reason);
        }
        result.toVersion = migration.version;
        ++result.applied;
    }
    return result;
}

void requireCurrentSchema(Database& db, const std::vector<Migration>& migrations)
{
    validate(migrations);
    const int latest = latestOf(migrations);
    checkOwnership(db, latest);
    const int version = readUserVersion(db);
    if (version < latest)
    {
        throw core::StoreError(db.path() + ": schema version " + std::to_string(version) +
                               " is older than this astra-rotator expects (" +
                               std::to_string(latest) + "); run `astra-rotator migrate`");
    }
}

} // namespace rotator::store
