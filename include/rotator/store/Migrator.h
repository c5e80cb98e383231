#pragma once

#include <cstdint>
#include <vector>

#include "rotator/store/Migrations.h"

namespace rotator::store
{

class Database;

/// `PRAGMA application_id` of every astra-rotator database ("ASTR").
inline constexpr std::int32_t kApplicationId = 0x41535452;

/// What `Migrator::migrate` did.
struct MigrationResult
{
    int fromVersion = 0;
    int toVersion = 0;
    int applied = 0;
};

/// Brings a database to the newest schema of a migration list (default: the migrations
/// compiled into this binary).
///
/// Each migration runs in its own IMMEDIATE transaction together with the `user_version`
/// bump (and, for the first one on a new file, `application_id`), so a failing migration
/// changes nothing and a concurrent migrator cannot apply a step twice. Migration files must
/// not contain BEGIN/COMMIT. Foreign keys are off while migrating (so that later migrations may
/// rebuild tables) and checked with `foreign_key_check` before each commit.
///
/// Refuses, with `core::StoreError` naming the path: a file that is not an astra-rotator
/// database (another `application_id`, or tables and no id), and a schema newer than the list.
/// A malformed list (versions not 1, 2, 3 ...) is a bug: `core::InvariantError`.
/// Borrows the `Database`; not thread-safe.
class Migrator
{
public:
    explicit Migrator(Database& db, std::vector<Migration> migrations = embeddedMigrations());

    /// The schema version of the file (`PRAGMA user_version`).
    int currentVersion() const;
    /// The newest version of the list (0 for an empty list).
    int latestVersion() const;
    /// Applies every migration newer than the file's version, in order.
    MigrationResult migrate();

private:
    Database& _db;
    std::vector<Migration> _migrations;
};

/// For commands that must not write: throws `core::StoreError` unless the database is an
/// astra-rotator database at exactly the newest version of `migrations` (an older schema:
/// "run `astra-rotator migrate`"; a newer one: "upgrade astra-rotator"). Works on a read-only
/// connection.
void requireCurrentSchema(Database& db,
                          const std::vector<Migration>& migrations = embeddedMigrations());

} // namespace rotator::store
