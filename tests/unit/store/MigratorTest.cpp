#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"
#include "rotator/store/Migrations.h"
#include "rotator/store/Migrator.h"
#include "rotator/store/Statement.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

const std::vector<Migration> kThreeSteps = {
    {1, "0001_first", "CREATE TABLE a (x INTEGER) STRICT;"},
    {2, "0002_second", "CREATE TABLE b (y INTEGER) STRICT; INSERT INTO a VALUES (2);"},
    {3, "0003_third", "ALTER TABLE b ADD COLUMN z TEXT;"},
};

std::vector<Migration> firstSteps(std::size_t count)
{
    return {kThreeSteps.begin(), kThreeSteps.begin() + static_cast<std::ptrdiff_t>(count)};
}

/// Every schema object as "type name sql", to compare whole schemas.
std::vector<std::string> schemaOf(Database& db)
{
    std::vector<std::string> objects;
    Statement query = db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name");
    while (query.step())
    {
        objects.push_back(query.getText(0) + " " + query.getText(1) + " " + query.getText(2));
    }
    return objects;
}

std::string messageOf(const std::function<void()>& action)
{
    try
    {
        action();
    }
    catch (const core::StoreError& e)
    {
        return e.what();
    }
    return "(no StoreError)";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

TEST(Migrator, TheEmbeddedMigrationsStartAtOneAndAscend)
{
    const std::vector<Migration>& migrations = embeddedMigrations();
    ASSERT_FALSE(migrations.empty());
    EXPECT_EQ(migrations.front().name, "0001_initial");
    for (std::size_t i = 0; i < migrations.size(); ++i)
    {
        EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    }
}

TEST(Migrator, BringsAnEmptyDatabaseToTheLatestEmbeddedVersion)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Migrator migrator(db);
    EXPECT_EQ(migrator.currentVersion(), 0);
    const MigrationResult result = migrator.migrate();
    const int latest = embeddedMigrations().back().version;
    EXPECT_EQ(result.fromVersion, 0);
    EXPECT_EQ(result.toVersion, latest);
    EXPECT_EQ(result.applied, latest);
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), latest);
    EXPECT_EQ(db.queryInt("PRAGMA application_id"), kApplicationId);
    EXPECT_EQ(db.queryInt("PRAGMA foreign_keys"), 1) << "foreign keys are back on";
    for (const char* name : {"clients", "credentials", "rotations", "rotation_sinks", "events",
                             "token_ages", "history"})
    {
        Statement find = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = ?1");
        find.bind(1, name);
        EXPECT_TRUE(find.step()) << name;
    }
    EXPECT_NO_THROW(requireCurrentSchema(db));
}

TEST(Migrator, RerunningIsANoOp)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Migrator(db).migrate();
    const std::vector<std::string> before = schemaOf(db);
    const MigrationResult again = Migrator(db).migrate();
    EXPECT_EQ(again.applied, 0);
    EXPECT_EQ(again.fromVersion, again.toVersion);
    EXPECT_EQ(schemaOf(db), before);
}

TEST(Migrator, AppliesOnlyTheStepsNewerThanTheFile)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    EXPECT_EQ(Migrator(db, firstSteps(1)).migrate().applied, 1);
    const MigrationResult result = Migrator(db, kThreeSteps).migrate();
    EXPECT_EQ(result.fromVersion, 1);
    EXPECT_EQ(result.toVersion, 3);
    EXPECT_EQ(result.applied, 2);
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM a"), 1);
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM pragma_table_info('b')"), 2);
}

TEST(Migrator, AFailingMigrationChangesNothingAndNamesTheFile)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    std::vector<Migration> broken = firstSteps(1);
    broken.push_back({2, "0002_broken",
                      "CREATE TABLE b (y INTEGER) STRICT;"
                      "INSERT INTO a VALUES (1);"
                      "CREATE TABLE oops (;"});
    Migrator(db, firstSteps(1)).migrate();
    const std::vector<std::string> before = schemaOf(db);

    const std::string message = messageOf([&] { Migrator(db, broken).migrate(); });
    EXPECT_TRUE(contains(message, "0002_broken.sql")) << message;
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, "stays at schema version 1")) << message;
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), 1);
    EXPECT_EQ(schemaOf(db), before);
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM a"), 0);
    EXPECT_TRUE(db.autocommit());
    EXPECT_EQ(db.queryInt("PRAGMA foreign_keys"), 1);
}

TEST(Migrator, AFailingFirstMigrationLeavesANewFileEmptyAndReusable)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    const std::vector<Migration> broken = {{1, "0001_broken", "CREATE TABLE a (x BOGUS) STRICT;"}};
    EXPECT_THROW(Migrator(db, broken).migrate(), core::StoreError);
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), 0);
    EXPECT_EQ(db.queryInt("PRAGMA application_id"), 0);
    EXPECT_TRUE(schemaOf(db).empty());
    EXPECT_EQ(Migrator(db, kThreeSteps).migrate().toVersion, 3);
}

TEST(Migrator, AMigrationBreakingAForeignKeyIsRolledBack)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    const std::vector<Migration> migrations = {
        {1, "0001_parent", "CREATE TABLE p (id INTEGER PRIMARY KEY) STRICT;"},
        {2, "0002_child",
         "CREATE TABLE c (p INTEGER REFERENCES p (id)) STRICT;"
         "INSERT INTO c VALUES (42);"},
    };
    const std::string message = messageOf([&] { Migrator(db, migrations).migrate(); });
    EXPECT_TRUE(contains(message, "0002_child.sql")) << message;
    EXPECT_TRUE(contains(message, "foreign key")) << message;
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), 1);
}

TEST(Migrator, RefusesADatabaseNewerThanTheBinary)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    Migrator(db, kThreeSteps).migrate();
    const std::vector<std::string> before = schemaOf(db);

    const std::string expected = path + ": schema version 3 is newer than this astra-rotator "
                                        "supports (2); upgrade astra-rotator or point state.dir "
                                        "elsewhere";
    EXPECT_EQ(messageOf([&] { Migrator(db, firstSteps(2)).migrate(); }), expected);
    EXPECT_EQ(messageOf([&] { requireCurrentSchema(db, firstSteps(2)); }), expected);
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), 3);
    EXPECT_EQ(schemaOf(db), before);
}

TEST(Migrator, RefusesAForeignSqliteDatabaseWithOtherTables)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    db.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, title TEXT);"
            "INSERT INTO photos (title) VALUES ('holiday')");
    const std::vector<std::string> before = schemaOf(db);

    const std::string message = messageOf([&] { Migrator(db).migrate(); });
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, "not an astra-rotator database")) << message;
    EXPECT_TRUE(contains(message, "photos")) << message;
    EXPECT_EQ(schemaOf(db), before);
    EXPECT_EQ(db.queryInt("PRAGMA user_version"), 0);
    EXPECT_EQ(db.queryInt("PRAGMA application_id"), 0);
    EXPECT_TRUE(contains(messageOf([&] { requireCurrentSchema(db); }), "not an astra-rotator"));
}

TEST(Migrator, RefusesADatabaseWithAnotherApplicationId)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    db.exec("PRAGMA application_id = 1196444493"); // 'GPKG', a GeoPackage
    const std::string message = messageOf([&] { Migrator(db).migrate(); });
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, "application_id 0x47504b4d")) << message;
    EXPECT_TRUE(schemaOf(db).empty());
}

TEST(Migrator, RefusesAFileThatIsNotSqlite)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    const std::string content = "# not a database\nkey = value\n" + std::string(2000, '.');
    test::writeFile(path, content);
    const std::string message = messageOf(
        [&]
        {
            Database db(path);
            Migrator(db).migrate();
        });
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, "not an SQLite database")) << message;
    EXPECT_EQ(test::readFile(path), content);
}

TEST(Migrator, RejectsAListWithAGapAsABug)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    const std::vector<Migration> gap = {kThreeSteps[0], kThreeSteps[2]};
    EXPECT_THROW(Migrator(db, gap), core::InvariantError);
}

TEST(Migrator, RequireCurrentSchemaAsksForMigrateOnAnOlderOrEmptyDatabase)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    {
        Database db(path);
        EXPECT_TRUE(contains(messageOf([&] { requireCurrentSchema(db, kThreeSteps); }),
                             "schema version 0 is older than this astra-rotator expects (3)"));
        Migrator(db, firstSteps(2)).migrate();
    }
    Database reader(path, OpenMode::ReadOnly);
    const std::string message = messageOf([&] { requireCurrentSchema(reader, kThreeSteps); });
    EXPECT_TRUE(contains(message, path + ": schema version 2 is older")) << message;
    EXPECT_TRUE(contains(message, "run `astra-rotator migrate`")) << message;
    EXPECT_NO_THROW(requireCurrentSchema(reader, firstSteps(2)));
}

} // namespace
} // namespace rotator::store

namespace rotator::store
{
namespace
{

std::vector<Migration> embeddedUpTo(int version)
{
    std::vector<Migration> out;
    for (const auto& m : embeddedMigrations())
    {
        if (m.version <= version)
        {
            out.push_back(m);
        }
    }
    return out;
}

} // namespace

TEST(Migrator, VersionThreeGivesAnExistingDatabaseAnInstallationIdAndKeepsItsJournal)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Migrator(db, embeddedUpTo(2)).migrate();
    db.exec("INSERT INTO credentials (name, current_client_id, created_ms, updated_ms)"
            " VALUES ('billing', 'AbCdEfGhIjKlMnOpQrStUvWx', 1, 1);"
            "INSERT INTO clients (client_id, generated_on, generated_on_ms, first_seen_ms,"
            " last_seen_ms) VALUES ('AbCdEfGhIjKlMnOpQrStUvWx', '2026-01-01T00:00:00Z', 1, 1, 1);"
            "INSERT INTO rotations (id, credential, stage, \"trigger\", marker, new_client_id,"
            " started_ms, updated_ms) VALUES (1, 'billing', 'planned', 'schedule',"
            " 'astra-rotator billing 1', 'AbCdEfGhIjKlMnOpQrStUvWx', 1, 1);"
            "INSERT INTO events (at_ms, credential, event, detail)"
            " VALUES (1, 'billing', 'adopted', 'kept');");

    Migrator(db).migrate();
    Statement id = db.prepare("SELECT installation_id FROM installation");
    ASSERT_TRUE(id.step());
    const std::string installation = id.getText(0);
    EXPECT_EQ(installation.size(), 16u);
    EXPECT_EQ(installation.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM rotations WHERE marker = 'astra-rotator billing 1'"
                          " AND no_grace = 0"),
              1)
        << "a journaled marker keeps its old form";
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM history WHERE detail = 'kept'"), 1);
    EXPECT_EQ(db.queryInt("SELECT count(*) FROM clients WHERE credential = 'billing'"), 1)
        << "the client remembers its credential";
    EXPECT_THROW(db.exec("UPDATE events SET detail = 'x'"), core::StoreError)
        << "events stay append-only";
    EXPECT_THROW(db.exec("UPDATE installation SET installation_id = '0000000000000000'"),
                 core::StoreError);
    db.exec("INSERT INTO events (at_ms, event) VALUES (2, 'foreign')");

    test::TempDir other;
    Database second(other.file("rotator.db"));
    Migrator(second).migrate();
    Statement otherId = second.prepare("SELECT installation_id FROM installation");
    ASSERT_TRUE(otherId.step());
    EXPECT_NE(otherId.getText(0), installation);
}

} // namespace rotator::store
