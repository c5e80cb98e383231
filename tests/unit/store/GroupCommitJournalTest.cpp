#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

EventRow eventNamed(const std::string& detail, std::size_t padding = 0)
{
    EventRow e;
    e.atMs = 1'700'000'000'000;
    e.event = "failed";
    e.detail = detail + std::string(padding, '.');
    return e;
}

std::set<std::string> details(const StateStore& store)
{
    HistoryQuery q;
    q.limit = 100'000;
    std::set<std::string> out;
    for (const auto& e : store.history(q))
    {
        out.insert(e.detail.substr(0, e.detail.find('.')));
    }
    return out;
}

/// A store on a fresh database whose COMMITs are counted (savepoint releases are not).
class CountedStore
{
public:
    explicit CountedStore(const test::TempDir& dir, int maxPageCount = 0)
    {
        const std::string path = dir.file("rotator.db");
        SqliteStateStore{path}; // creates and migrates
        Database db(path);
        handle = db.handle();
        sqlite3_commit_hook(handle, &CountedStore::onCommit, this);
        if (maxPageCount > 0)
        {
            db.exec("PRAGMA max_page_count = " +
                    std::to_string(db.queryInt("PRAGMA page_count") + maxPageCount));
        }
        store = std::make_unique<SqliteStateStore>(std::move(db));
    }
    int commits() const { return _commits; }

    std::unique_ptr<SqliteStateStore> store;
    sqlite3* handle = nullptr; ///< the store's connection, for what only SQLite can do

private:
    static int onCommit(void* self)
    {
        ++static_cast<CountedStore*>(self)->_commits;
        return 0; // let it commit
    }
    std::atomic<int> _commits{0};
};

TEST(SqliteStateStoreBatch, OneCommitForAllUnitsAndAUnitThatThrowsUndoesOnlyItself)
{
    test::TempDir dir;
    CountedStore counted(dir);
    auto& store = *counted.store;
    const int before = counted.commits();
    const auto errors = store.runBatch({
        [&] { store.appendEvent(eventNamed("first")); },
        [&] {
            store.appendEvent(eventNamed("thrower"));
            throw std::runtime_error("unit failed");
        },
        [&] { store.appendEvent(eventNamed("third")); },
    });
    ASSERT_EQ(errors.size(), 3U);
    EXPECT_FALSE(errors[0]);
    ASSERT_TRUE(errors[1]);
    EXPECT_THROW(std::rethrow_exception(errors[1]), std::runtime_error);
    EXPECT_FALSE(errors[2]);
    EXPECT_EQ(counted.commits() - before, 1);
    EXPECT_EQ(details(store), (std::set<std::string>{"first", "third"}));
}

TEST(SqliteStateStoreBatch, ALoneUnitThatThrowsIsUndoneAndItsErrorReported)
{
    // A batch of one runs without a savepoint: its transaction is its undo.
    test::TempDir dir;
    CountedStore counted(dir);
    auto& store = *counted.store;
    const auto errors = store.runBatch({[&] {
        store.appendEvent(eventNamed("thrower"));
        throw std::runtime_error("unit failed");
    }});
    ASSERT_EQ(errors.size(), 1U);
    ASSERT_TRUE(errors[0]);
    EXPECT_THROW(std::rethrow_exception(errors[0]), std::runtime_error);
    EXPECT_TRUE(details(store).empty());
    const int before = counted.commits();
    EXPECT_FALSE(store.runBatch({[&] { store.appendEvent(eventNamed("alone")); }})[0]);
    EXPECT_EQ(counted.commits() - before, 1);
    EXPECT_EQ(details(store), (std::set<std::string>{"alone"}));
}

TEST(SqliteStateStoreBatch, AFullDatabaseLeavesExactlyTheUnitsReportedStored)
{
    test::TempDir dir;
    CountedStore counted(dir, 40); // room for a few 20 KB events, not for all
    auto& store = *counted.store;
    std::vector<std::function<void()>> units;
    for (int i = 0; i < 12; ++i)
    {
        units.emplace_back([&store, i] {
            store.appendEvent(eventNamed("unit" + std::to_string(i), 20'000));
        });
    }
    const auto errors = store.runBatch(units);
    std::set<std::string> reportedStored;
    int failed = 0;
    for (std::size_t i = 0; i < errors.size(); ++i)
    {
        if (!errors[i])
        {
            reportedStored.insert("unit" + std::to_string(i));
            continue;
        }
        ++failed;
        EXPECT_THROW(std::rethrow_exception(errors[i]), core::StoreError);
    }
    EXPECT_GT(failed, 0);
    EXPECT_EQ(details(store), reportedStored);
    // The store is still usable for what fits.
    store.appendEvent(eventNamed("after"));
    EXPECT_TRUE(details(store).count("after"));
}

TEST(SqliteStateStoreBatch, WhenSqliteAbandonsTheTransactionEveryUnitFailsAndNothingIsStored)
{
    test::TempDir dir;
    CountedStore counted(dir);
    auto& store = *counted.store;
    const auto errors = store.runBatch({
        [&] { store.appendEvent(eventNamed("first")); },
        [&] {
            store.appendEvent(eventNamed("second"));
            // What SQLite does after a full disk or an I/O error: the transaction is gone.
            ASSERT_EQ(sqlite3_exec(counted.handle, "ROLLBACK", nullptr, nullptr, nullptr),
                      SQLITE_OK);
            throw core::StoreError("simulated I/O error");
        },
        [&] { store.appendEvent(eventNamed("never run")); },
    });
    ASSERT_EQ(errors.size(), 3U);
    for (const auto& error : errors)
    {
        ASSERT_TRUE(error);
        EXPECT_THROW(std::rethrow_exception(error), core::StoreError);
    }
    EXPECT_TRUE(details(store).empty());
    store.appendEvent(eventNamed("after"));
    EXPECT_EQ(details(store), (std::set<std::string>{"after"}));
}

// ------------------------------------------------------------------------------------------

/// Blocks the thread that runs it until `open()`.
class Gate
{
public:
    void wait()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _entered = true;
        _changed.notify_all();
        _changed.wait(lock, [&] { return _open; });
    }
    void awaitEntered()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock, [&] { return _entered; });
    }
    void open()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _open = true;
        _changed.notify_all();
    }

private:
    std::mutex _mutex;
    std::condition_variable _changed;
    bool _entered = false;
    bool _open = false;
};

/// Waits until `n` writers are queued behind a running batch (bounded: fails after 30 s).
void awaitQueued(const GroupCommitJournal& journal, std::size_t n)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (journal.queuedWriters() < n)
    {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "writers never queued";
        std::this_thread::yield();
    }
}

TEST(GroupCommitJournal, WritersThatQueueBehindACommitShareTheNextOne)
{
    test::TempDir dir;
    CountedStore counted(dir);
    GroupCommitJournal journal(*counted.store);
    auto& shared = journal.rows();
    const int before = counted.commits();
    Gate gate;
    std::thread leader([&] {
        journal.commit({"test step", [&] {
            shared.appendEvent(eventNamed("leader")); // from inside a unit: written directly
            gate.wait();
        }});
    });
    gate.awaitEntered();
    std::vector<std::thread> writers;
    for (int i = 0; i < 7; ++i)
    {
        writers.emplace_back([&, i] { shared.appendEvent(eventNamed("w" + std::to_string(i))); });
    }
    awaitQueued(journal, 7);
    gate.open();
    leader.join();
    for (auto& w : writers)
    {
        w.join();
    }
    EXPECT_EQ(counted.commits() - before, 2); // the leader's batch, then all seven at once
    EXPECT_EQ(details(shared).size(), 8U);
    EXPECT_EQ(journal.queuedWriters(), 0U);
}

TEST(GroupCommitJournal, ALeaderWaitsForTheOtherRegisteredWritersAndTheyShareOneCommit)
{
    test::TempDir dir;
    CountedStore counted(dir);
    // A delay no test run reaches: the leader can only go on because the other writer came.
    GroupCommitJournal journal(*counted.store, std::chrono::minutes(10));
    auto& shared = journal.rows();
    const Journal::Writer first(journal);
    const Journal::Writer second(journal);
    const int before = counted.commits();
    std::thread leader([&] { shared.appendEvent(eventNamed("first")); });
    awaitQueued(journal, 1); // the leader's own unit, waiting for the second writer's
    EXPECT_EQ(counted.commits(), before);
    shared.appendEvent(eventNamed("second"));
    leader.join();
    EXPECT_EQ(counted.commits() - before, 1);
    EXPECT_EQ(details(shared), (std::set<std::string>{"first", "second"}));
}

TEST(GroupCommitJournal, ALeaderStopsWaitingWhenTheWriterItWaitsForLeaves)
{
    test::TempDir dir;
    CountedStore counted(dir);
    GroupCommitJournal journal(*counted.store, std::chrono::minutes(10));
    auto& shared = journal.rows();
    const Journal::Writer staying(journal);
    auto leaving = std::make_unique<Journal::Writer>(journal);
    auto written = std::async(std::launch::async, [&] { shared.appendEvent(eventNamed("a")); });
    awaitQueued(journal, 1);
    leaving.reset();
    // Not the ten minutes: the leader is woken by the writer leaving.
    ASSERT_EQ(written.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    written.get();
    EXPECT_EQ(details(shared), (std::set<std::string>{"a"}));
}

TEST(GroupCommitJournal, ALoneRegisteredWriterDoesNotWait)
{
    test::TempDir dir;
    CountedStore counted(dir);
    GroupCommitJournal journal(*counted.store, std::chrono::minutes(10));
    auto& shared = journal.rows();
    const Journal::Writer alone(journal); // one writer: its own unit is all there is
    auto written = std::async(std::launch::async, [&] { shared.appendEvent(eventNamed("a")); });
    ASSERT_EQ(written.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    written.get();
    EXPECT_EQ(details(shared), (std::set<std::string>{"a"}));
}

TEST(GroupCommitJournal, EachWriterGetsItsOwnOutcomeFromASharedBatch)
{
    test::TempDir dir;
    CountedStore counted(dir);
    GroupCommitJournal journal(*counted.store);
    auto& shared = journal.rows();
    Gate gate;
    std::thread leader([&] { journal.commit({"test step", [&] { gate.wait(); }}); });
    gate.awaitEntered();
    std::int64_t keptId = 0;
    bool throwerSawItsError = false;
    std::thread kept([&] { keptId = shared.appendEvent(eventNamed("kept")); });
    std::thread thrower([&] {
        try
        {
            journal.commit({"test step", [&] {
                shared.appendEvent(eventNamed("undone"));
                throw core::InvariantError("the thrower's own error");
            }});
        }
        catch (const core::InvariantError& e)
        {
            throwerSawItsError = std::string(e.what()).find("own error") != std::string::npos;
        }
    });
    awaitQueued(journal, 2);
    gate.open();
    leader.join();
    kept.join();
    thrower.join();
    EXPECT_GT(keptId, 0);
    EXPECT_TRUE(throwerSawItsError);
    EXPECT_EQ(details(shared), (std::set<std::string>{"kept"}));
}

TEST(GroupCommitJournal, ManyThreadsWritingAndReadingLoseNothing)
{
    test::TempDir dir;
    CountedStore counted(dir);
    GroupCommitJournal journal(*counted.store);
    auto& shared = journal.rows();
    constexpr int kThreads = 8;
    constexpr int kWrites = 50;
    std::vector<std::thread> threads;
    std::atomic<int> reads{0};
    for (int t = 0; t < kThreads; ++t)
    {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWrites; ++i)
            {
                shared.appendEvent(eventNamed("t" + std::to_string(t) + "-" + std::to_string(i)));
                HistoryQuery q;
                q.limit = 1;
                reads += static_cast<int>(shared.history(q).size());
            }
        });
    }
    for (auto& t : threads)
    {
        t.join();
    }
    EXPECT_EQ(details(shared).size(), static_cast<std::size_t>(kThreads * kWrites));
    EXPECT_EQ(reads.load(), kThreads * kWrites);
}

} // namespace
} // namespace rotator::store
