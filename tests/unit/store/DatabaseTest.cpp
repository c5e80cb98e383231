#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

unsigned modeOf(const std::string& path)
{
    struct stat info = {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return static_cast<unsigned>(info.st_mode) & 0777U;
}

std::int64_t countRows(Database& db, const std::string& table)
{
    return db.queryInt("SELECT count(*) FROM " + table);
}

TEST(Database, OpensReadWriteInWalModeWithFullSyncAndForeignKeys)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Statement journal = db.prepare("PRAGMA journal_mode");
    ASSERT_TRUE(journal.step());
    EXPECT_EQ(journal.getText(0), "wal");
    EXPECT_EQ(db.queryInt("PRAGMA synchronous"), 2); // FULL
    EXPECT_EQ(db.queryInt("PRAGMA foreign_keys"), 1);
    EXPECT_EQ(db.queryInt("PRAGMA busy_timeout"), 5000);
    EXPECT_FALSE(db.readOnly());
}

TEST(Database, CreatesTheFileAndItsWalWithMode0600)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    db.exec("CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (1)");
    EXPECT_EQ(modeOf(path), 0600U);
    EXPECT_EQ(modeOf(path + "-wal"), 0600U);
    EXPECT_EQ(modeOf(path + "-shm"), 0600U);
}

TEST(Database, LeavesTheModeOfAnExistingFileAlone)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    {
        Database db(path);
    }
    ::chmod(path.c_str(), 0640);
    Database db(path);
    EXPECT_EQ(modeOf(path), 0640U);
}

// The journal decides which clients get revoked: whoever else owns or can write the file (or
// swaps in a link) could make the rotator revoke any client. Refused before SQLite opens it.
TEST(Database, RefusesADatabaseThatIsALinkOrOthersCanWriteOrAnotherUserOwns)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    {
        Database db(path);
    }
    const auto refusal = [](const std::string& file, OpenMode mode)
    {
        try
        {
            Database db(file, mode);
        }
        catch (const core::StoreError& e)
        {
            return std::string(e.what());
        }
        return std::string();
    };
    ASSERT_EQ(::symlink(path.c_str(), dir.file("link.db").c_str()), 0);
    EXPECT_NE(refusal(dir.file("link.db"), OpenMode::ReadWrite).find("is a symbolic link"),
              std::string::npos);
    EXPECT_NE(refusal(dir.file("link.db"), OpenMode::ReadOnly).find("is a symbolic link"),
              std::string::npos);

    ::chmod(path.c_str(), 0660);
    EXPECT_NE(refusal(path, OpenMode::ReadOnly).find("mode 0660) is writable by its group"),
              std::string::npos);
    ::chmod(path.c_str(), 0600);
    EXPECT_EQ(refusal(path, OpenMode::ReadWrite), "");
    if (::geteuid() == 0)
    {
        test::writeFile(path + "-wal", "", 0600); // as a crashed writer leaves it
        ASSERT_EQ(::chown((path + "-wal").c_str(), 65534, 65534), 0);
        const std::string wal = refusal(path, OpenMode::ReadWrite);
        EXPECT_NE(wal.find(path + "-wal (owner uid 65534"), std::string::npos) << wal;
    }
}

TEST(Database, ReadOnlyOpenOfAMissingFileFailsNamingThePath)
{
    test::TempDir dir;
    const std::string path = dir.file("absent.db");
    try
    {
        Database db(path, OpenMode::ReadOnly);
        FAIL() << "opened a missing file";
    }
    catch (const core::StoreError& e)
    {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
}

TEST(Database, RefusesAFileThatIsNotSqliteNamingThePath)
{
    test::TempDir dir;
    const std::string path = dir.file("notes.txt");
    test::writeFile(path, std::string(4096, 'x'));
    for (const OpenMode mode : {OpenMode::ReadWrite, OpenMode::ReadOnly})
    {
        try
        {
            Database db(path, mode);
            FAIL() << "opened a text file";
        }
        catch (const core::StoreError& e)
        {
            const std::string message = e.what();
            EXPECT_NE(message.find(path), std::string::npos) << message;
            EXPECT_NE(message.find("not an SQLite database"), std::string::npos) << message;
        }
    }
    EXPECT_EQ(test::readFile(path), std::string(4096, 'x'));
}

TEST(Database, ReadOnlyConnectionCannotWrite)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    {
        Database db(path);
        db.exec("CREATE TABLE t (x INTEGER) STRICT");
    }
    Database reader(path, OpenMode::ReadOnly);
    EXPECT_TRUE(reader.readOnly());
    EXPECT_THROW(reader.exec("INSERT INTO t VALUES (1)"), core::StoreError);
}

TEST(Database, ErrorsNameThePathAndSqlitesMessage)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database db(path);
    try
    {
        db.exec("SELECT * FROM no_such_table");
        FAIL();
    }
    catch (const core::StoreError& e)
    {
        const std::string message = e.what();
        EXPECT_NE(message.find(path), std::string::npos) << message;
        EXPECT_NE(message.find("no such table: no_such_table"), std::string::npos) << message;
    }
    EXPECT_THROW(db.prepare("SELECT 1; SELECT 2"), core::StoreError);
    EXPECT_THROW(db.prepare("SELEC 1"), core::StoreError);
}

TEST(Database, MovingKeepsTheConnectionOpen)
{
    test::TempDir dir;
    Database first(dir.file("rotator.db"));
    first.exec("CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (7)");
    Database second(std::move(first));
    EXPECT_EQ(second.queryInt("SELECT x FROM t"), 7);
    Database third(dir.file("other.db"));
    third = std::move(second);
    EXPECT_EQ(third.queryInt("SELECT x FROM t"), 7);
    EXPECT_EQ(third.path(), dir.file("rotator.db"));
}

TEST(Statement, BindingRoundTripsIntegersTextNullAndOptionals)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (i INTEGER, s TEXT, n TEXT, oi INTEGER, os TEXT, e TEXT) STRICT");
    const std::string text = "h\xC3\xA9llo, 'world'\n\"quoted\"";
    const std::int64_t big = std::numeric_limits<std::int64_t>::min();
    Statement insert = db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, big)
        .bind(2, text)
        .bindNull(3)
        .bind(4, std::optional<std::int64_t>(42))
        .bind(5, std::optional<std::string>())
        .bind(6, std::string_view());
    EXPECT_EQ(insert.execute(), 1);
    insert.reset();
    insert.bind(1, std::numeric_limits<std::int64_t>::max())
        .bind(2, "plain")
        .bind(3, std::string("x"))
        .bind(4, std::optional<std::int64_t>())
        .bind(5, std::optional<std::string>("some"))
        .bind(6, 0);
    EXPECT_EQ(insert.execute(), 1);

    Statement select = db.prepare("SELECT i, s, n, oi, os, e FROM t ORDER BY rowid");
    ASSERT_EQ(select.columnCount(), 6);
    EXPECT_EQ(select.columnName(3), "oi");
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.getInt64(0), big);
    EXPECT_EQ(select.getText(1), text);
    EXPECT_TRUE(select.isNull(2));
    EXPECT_EQ(select.getText(2), "");
    EXPECT_EQ(select.getOptionalInt64(3), std::optional<std::int64_t>(42));
    EXPECT_EQ(select.getOptionalText(4), std::nullopt);
    EXPECT_FALSE(select.isNull(5)) << "an empty string is not NULL";
    EXPECT_EQ(select.getOptionalText(5), std::optional<std::string>(""));
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.getInt64(0), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(select.getText(1), "plain");
    EXPECT_EQ(select.getOptionalText(2), std::optional<std::string>("x"));
    EXPECT_EQ(select.getOptionalInt64(3), std::nullopt);
    EXPECT_EQ(select.getOptionalText(4), std::optional<std::string>("some"));
    EXPECT_EQ(select.getText(5), "0") << "a STRICT TEXT column stores an integer as text";
}

TEST(Statement, TextWithAnEmbeddedNulRoundTrips)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    const std::string text("a\0b", 3);
    Statement select = db.prepare("SELECT ?1, length(CAST(?1 AS BLOB))");
    select.bind(1, text);
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.getText(0), text);
    EXPECT_EQ(select.getInt(1), 3);
}

TEST(Statement, ResetAllowsReuseAndIsMovable)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Statement square = db.prepare("SELECT ?1 * ?1");
    for (int i = 1; i <= 3; ++i)
    {
        square.reset();
        square.bind(1, i);
        ASSERT_TRUE(square.step());
        EXPECT_EQ(square.getInt(0), i * i);
        EXPECT_FALSE(square.step());
    }
    Statement moved(std::move(square));
    moved.reset();
    ASSERT_TRUE(moved.step());
    EXPECT_EQ(moved.getInt(0), 9);
    EXPECT_EQ(moved.sql(), "SELECT ?1 * ?1");
}

int statementsOn(const Database& db)
{
    int count = 0;
    for (auto* s = sqlite3_next_stmt(db.handle(), nullptr); s != nullptr;
         s = sqlite3_next_stmt(db.handle(), s))
    {
        ++count;
    }
    return count;
}

TEST(StatementCache, TheSameSqlIsParsedOnceAndComesBackResetWithoutBindings)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER) STRICT");
    db.exec("INSERT INTO t VALUES (1), (2)");
    const int before = statementsOn(db);
    for (int i = 0; i < 100; ++i)
    {
        Statement select = db.prepare("SELECT x, ?1 FROM t ORDER BY x");
        // A statement left mid-way and with a value bound starts over with NULL next time.
        ASSERT_TRUE(select.step());
        EXPECT_EQ(select.getInt(0), 1);
        EXPECT_TRUE(select.isNull(1));
        select.reset();
        select.bind(1, "left bound");
        ASSERT_TRUE(select.step());
        EXPECT_EQ(select.getText(1), "left bound");
    }
    EXPECT_EQ(statementsOn(db), before + 1);
}

TEST(StatementCache, ANestedUseOfTheSameSqlGetsItsOwnStatement)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER) STRICT");
    db.exec("INSERT INTO t VALUES (1), (2)");
    const std::string sql = "SELECT x FROM t ORDER BY x";
    Statement outer = db.prepare(sql);
    int pairs = 0;
    while (outer.step())
    {
        Statement inner = db.prepare(sql);
        while (inner.step())
        {
            ++pairs;
        }
    }
    EXPECT_EQ(pairs, 4);
}

TEST(StatementCache, KeepsABoundedNumberAndSurvivesMovingTheDatabase)
{
    test::TempDir dir;
    Database first(dir.file("rotator.db"));
    for (int i = 0; i < 200; ++i)
    {
        first.queryInt("SELECT " + std::to_string(i));
    }
    const int kept = statementsOn(first);
    EXPECT_EQ(kept, 64); // StatementCache::kCapacity
    Database moved(std::move(first));
    EXPECT_EQ(moved.queryInt("SELECT 7"), 7);
    EXPECT_EQ(moved.queryInt("SELECT 199"), 199);
    EXPECT_EQ(statementsOn(moved), kept);
}

TEST(Statement, AConstraintViolationThrowsAndTheStatementStaysUsable)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY) STRICT");
    Statement insert = db.prepare("INSERT INTO t VALUES (?1)");
    insert.bind(1, 1).execute();
    insert.reset();
    EXPECT_THROW(insert.execute(), core::StoreError);
    insert.reset();
    insert.bind(1, 2);
    EXPECT_EQ(insert.execute(), 1);
    EXPECT_EQ(countRows(db, "t"), 2);
}

TEST(Transaction, RollsBackInItsDestructorUnlessCommitted)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER) STRICT");
    {
        Transaction transaction(db);
        db.exec("INSERT INTO t VALUES (1)");
        EXPECT_FALSE(db.autocommit());
    }
    EXPECT_TRUE(db.autocommit());
    EXPECT_EQ(countRows(db, "t"), 0);
    {
        Transaction transaction(db);
        db.exec("INSERT INTO t VALUES (2)");
        transaction.commit();
        EXPECT_FALSE(transaction.active());
    }
    EXPECT_EQ(countRows(db, "t"), 1);
}

TEST(Transaction, RollsBackWhenAnExceptionLeavesTheScope)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER PRIMARY KEY) STRICT");
    try
    {
        Transaction transaction(db);
        db.exec("INSERT INTO t VALUES (1)");
        db.exec("INSERT INTO t VALUES (1)"); // throws
        transaction.commit();
    }
    catch (const core::StoreError&)
    {
    }
    EXPECT_TRUE(db.autocommit());
    EXPECT_EQ(countRows(db, "t"), 0);
}

TEST(Transaction, DestructorDoesNotThrowWhenSqliteAlreadyEndedTheTransaction)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    db.exec("CREATE TABLE t (x INTEGER) STRICT");
    {
        Transaction transaction(db);
        db.exec("ROLLBACK"); // what SQLite does by itself after some errors
    }
    EXPECT_TRUE(db.autocommit());
}

TEST(Transaction, ImmediateTakesTheWriteLockAtOnce)
{
    test::TempDir dir;
    const std::string path = dir.file("rotator.db");
    Database writer(path);
    writer.exec("CREATE TABLE t (x INTEGER) STRICT");
    Database other(path);
    other.exec("PRAGMA busy_timeout = 0"); // fail at once instead of waiting 5 s
    Transaction held(writer);
    EXPECT_THROW(Transaction second(other), core::StoreError);
    Transaction reading(other, TransactionMode::Deferred);
    EXPECT_EQ(countRows(other, "t"), 0);
}

} // namespace
} // namespace rotator::store
