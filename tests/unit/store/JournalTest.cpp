#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/core/Errors.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/SqliteStateStore.h"
#include "rotator/store/TransactionJournal.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

/// What every Journal promises, run against both implementations: a step is atomic, durable
/// when commit returns (another connection sees it), and a step that throws leaves nothing.
template <typename J> class JournalContract : public ::testing::Test
{
protected:
    JournalContract() : backend(dir.file("rotator.db")), journal(backend)
    {
        backend.ensureCredentials({"billing"}, 1);
        rotation = backend.beginRotation("billing", "schedule", "old", 2);
    }

    /// A second connection: it sees only what is committed.
    std::unique_ptr<SqliteStateStore> reader() const
    {
        return SqliteStateStore::openReadOnly(dir.file("rotator.db"));
    }

    EventRow event(const std::string& name) const
    {
        EventRow e;
        e.atMs = 3;
        e.credential = "billing";
        e.rotationId = rotation.id;
        e.event = name;
        return e;
    }

    test::TempDir dir;
    SqliteStateStore backend;
    J journal;
    RotationRow rotation;
};

using Journals = ::testing::Types<TransactionJournal, GroupCommitJournal>;
TYPED_TEST_SUITE(JournalContract, Journals);

TYPED_TEST(JournalContract, ACommittedStepIsVisibleToAnotherConnectionWhenCommitReturns)
{
    auto& rows = this->journal.rows();
    this->journal.commit({"minted", [&]
                          {
                              this->rotation.stage = core::Stage::Minted;
                              this->rotation.newClientId = "new";
                              rows.saveRotation(this->rotation);
                          }});
    const auto seen = this->reader()->findRotation(this->rotation.id);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->stage, core::Stage::Minted);
    EXPECT_EQ(seen->newClientId, "new");
}

TYPED_TEST(JournalContract, ANamedStepOfSeveralStepsCommitsThemTogether)
{
    auto& rows = this->journal.rows();
    const auto reader = this->reader();
    bool sawAnythingEarly = true;
    this->journal.commit({"verified + delivery started + first attempt", [&]
                          {
                              this->rotation.stage = core::Stage::Verified;
                              rows.saveRotation(this->rotation);
                              rows.appendEvent(this->event("verified"));
                              this->rotation.stage = core::Stage::Delivering;
                              rows.saveRotation(this->rotation);
                              SinkStateRow sink;
                              sink.sink = "vault";
                              sink.attempts = 1;
                              rows.saveSinkState(this->rotation.id, sink);
                              // Nothing of the step is visible before the step ends.
                              sawAnythingEarly = reader->findRotation(this->rotation.id)->stage !=
                                                     core::Stage::Planned ||
                                                 !reader->sinkStates(this->rotation.id).empty();
                          }});
    EXPECT_FALSE(sawAnythingEarly);
    EXPECT_EQ(reader->findRotation(this->rotation.id)->stage, core::Stage::Delivering);
    ASSERT_EQ(reader->sinkStates(this->rotation.id).size(), 1U);
    EXPECT_EQ(reader->sinkStates(this->rotation.id)[0].attempts, 1);
    HistoryQuery q;
    q.credential = "billing";
    ASSERT_EQ(reader->history(q).size(), 1U);
    EXPECT_EQ(reader->history(q)[0].event, "verified");
}

TYPED_TEST(JournalContract, AStepThatThrowsLeavesNothingBehindAndItsErrorPropagates)
{
    auto& rows = this->journal.rows();
    EXPECT_THROW(this->journal.commit({"promoted",
                                       [&]
                                       {
                                           this->rotation.stage = core::Stage::Grace;
                                           rows.saveRotation(this->rotation);
                                           rows.appendEvent(this->event("promoted"));
                                           throw core::InvariantError("broken invariant");
                                       }}),
                 core::InvariantError);
    EXPECT_EQ(this->reader()->findRotation(this->rotation.id)->stage, core::Stage::Planned);
    EXPECT_TRUE(this->reader()->history(HistoryQuery{}).empty());
    // The journal goes on working after a failed step.
    this->journal.commit({"failed", [&] { rows.appendEvent(this->event("failed")); }});
    EXPECT_EQ(this->reader()->history(HistoryQuery{}).size(), 1U);
}

TYPED_TEST(JournalContract, AStoreErrorOfAFailedStepNamesTheStep)
{
    auto& rows = this->journal.rows();
    RotationRow missing = this->rotation;
    missing.id += 100; // no such row: the write throws core::StoreError
    std::string message;
    try
    {
        this->journal.commit({"minted", [&]
                              {
                                  rows.appendEvent(this->event("created"));
                                  rows.saveRotation(missing);
                              }});
    }
    catch (const core::StoreError& e)
    {
        message = e.what();
    }
    EXPECT_EQ(message.rfind("journal step 'minted' failed: ", 0), 0U) << message;
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
    EXPECT_TRUE(this->reader()->history(HistoryQuery{}).empty());
}

TYPED_TEST(JournalContract, ACommitInsideAStepIsPartOfThatStep)
{
    auto& rows = this->journal.rows();
    const auto reader = this->reader();
    bool innerDurableEarly = true;
    EXPECT_THROW(
        this->journal.commit(
            {"outer",
             [&]
             {
                 this->journal.commit({"inner", [&] { rows.appendEvent(this->event("failed")); }});
                 // The inner commit returned, yet nothing is durable before the outer step ends.
                 innerDurableEarly = !reader->history(HistoryQuery{}).empty();
                 throw std::runtime_error("after the inner commit");
             }}),
        std::runtime_error);
    EXPECT_FALSE(innerDurableEarly);
    EXPECT_TRUE(reader->history(HistoryQuery{}).empty());
}

TYPED_TEST(JournalContract, AWriteOutsideAStepIsAStepOfItsOwn)
{
    this->rotation.error = "create outcome unknown";
    this->journal.rows().saveRotation(this->rotation);
    EXPECT_EQ(this->reader()->findRotation(this->rotation.id)->error, "create outcome unknown");
    // A failing write outside a step undoes only itself, and its error names the step 'write'.
    RotationRow missing = this->rotation;
    missing.id += 100;
    std::string message;
    try
    {
        this->journal.rows().saveRotation(missing);
    }
    catch (const core::StoreError& e)
    {
        message = e.what();
    }
    EXPECT_EQ(message.rfind("journal step 'write' failed: ", 0), 0U) << message;
    EXPECT_EQ(this->reader()->findRotation(this->rotation.id)->error, "create outcome unknown");
}

TYPED_TEST(JournalContract, ManyThreadsCommittingAndReadingLoseNothing)
{
    auto& rows = this->journal.rows();
    constexpr int kThreads = 6;
    constexpr int kSteps = 20;
    std::atomic<int> reads{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
    {
        threads.emplace_back(
            [&, t]
            {
                const Journal::Writer writer(this->journal);
                for (int i = 0; i < kSteps; ++i)
                {
                    const std::string tag = std::to_string(t) + "-" + std::to_string(i);
                    auto failed = this->event("failed");
                    auto quarantined = this->event("quarantined");
                    failed.detail = quarantined.detail = tag;
                    std::int64_t last = 0;
                    this->journal.commit({"two events", [&]
                                          {
                                              rows.appendEvent(failed);
                                              last = rows.appendEvent(quarantined);
                                          }});
                    // Read back through the rows while the others write: this step's last
                    // event is there, with its own detail.
                    HistoryQuery q;
                    q.limit = 100'000;
                    for (const auto& e : rows.history(q))
                    {
                        reads += e.id == last && e.detail == tag ? 1 : 0;
                    }
                }
            });
    }
    for (auto& t : threads)
    {
        t.join();
    }
    HistoryQuery q;
    q.limit = 100'000;
    const auto history = this->reader()->history(q);
    EXPECT_EQ(history.size(), static_cast<std::size_t>(2 * kThreads * kSteps));
    EXPECT_EQ(reads.load(), kThreads * kSteps);
    // Every step stored both its events, none of another step's.
    std::map<std::string, int> perStep;
    for (const auto& e : history)
    {
        ++perStep[e.detail];
    }
    EXPECT_EQ(perStep.size(), static_cast<std::size_t>(kThreads * kSteps));
    for (const auto& [tag, count] : perStep)
    {
        EXPECT_EQ(count, 2) << tag;
    }
}

// The runtime and the engine's tests both build their journal here, so the journal of
// scheduler.concurrency = 1 (the default of the engine tests) is the one production runs.
TEST(MakeJournal, GroupCommitsOnlyWhenRotationsRunSideBySide)
{
    test::TempDir dir;
    SqliteStateStore backend(dir.file("rotator.db"));
    EXPECT_NE(dynamic_cast<TransactionJournal*>(makeJournal(backend, 1).get()), nullptr);
    EXPECT_NE(dynamic_cast<GroupCommitJournal*>(makeJournal(backend, 2).get()), nullptr);
    EXPECT_NE(dynamic_cast<GroupCommitJournal*>(makeJournal(backend, 64).get()), nullptr);
}

} // namespace
} // namespace rotator::store
