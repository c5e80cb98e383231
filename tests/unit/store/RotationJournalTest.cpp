#include <gtest/gtest.h>

#include "rotator/core/Errors.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

class RotationJournal : public ::testing::Test
{
protected:
    RotationJournal() : store(dir.file("rotator.db")) { store.ensureCredentials({"billing"}, 1); }
    test::TempDir dir;
    store::SqliteStateStore store;
};

} // namespace

TEST_F(RotationJournal, BeginsAPlannedRotationWithAUniqueMarker)
{
    const auto a = store.beginRotation("billing", "schedule", "AbCdEfGhIjKlMnOpQrStUvWx", 10);
    const auto b = store.beginRotation("billing", "manual", "", 20);
    EXPECT_EQ(a.marker,
              "astra-rotator " + store.installationId() + " billing " + std::to_string(a.id));
    EXPECT_NE(a.marker, b.marker);
    const auto found = store.findRotation(a.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->stage, core::Stage::Planned);
    EXPECT_EQ(found->oldClientId, "AbCdEfGhIjKlMnOpQrStUvWx");
    EXPECT_EQ(found->trigger, "schedule");
    EXPECT_EQ(store.lastRotation("billing")->id, b.id);
    EXPECT_EQ(store.unfinishedRotations().size(), 2u);
}

TEST_F(RotationJournal, SavesStagesAndSinkStates)
{
    auto r = store.beginRotation("billing", "schedule", "", 10);
    r.stage = core::Stage::Minted;
    r.newClientId = "ZyXwVuTsRqPoNmLkJiHgFeDc";
    r.mintStartedMs = 11;
    r.mintFinishedMs = 12;
    r.updatedMs = 12;
    store.saveRotation(r);
    store.saveSinkState(
        r.id, {"file", core::SinkDelivery::Failed, 1, std::string("disk full"), std::nullopt});
    store.saveSinkState(r.id, {"file", core::SinkDelivery::Delivered, 2, std::nullopt, 13});
    store.saveSinkState(r.id, {"hook", core::SinkDelivery::Pending, 0, std::nullopt, std::nullopt});
    const auto sinks = store.sinkStates(r.id);
    ASSERT_EQ(sinks.size(), 2u);
    EXPECT_EQ(sinks[0].sink, "file");
    EXPECT_EQ(sinks[0].state, core::SinkDelivery::Delivered);
    EXPECT_EQ(sinks[0].attempts, 2);
    EXPECT_FALSE(sinks[0].lastError);
    const auto back = store.findRotation(r.id);
    EXPECT_EQ(back->stage, core::Stage::Minted);
    EXPECT_EQ(back->newClientId, "ZyXwVuTsRqPoNmLkJiHgFeDc");
    r.stage = core::Stage::Done;
    r.finishedMs = 20;
    store.saveRotation(r);
    EXPECT_TRUE(store.unfinishedRotations().empty());
}

TEST_F(RotationJournal, RefusesUnknownStages)
{
    // A row holds a core::Stage, so no code path can write an unknown one; the schema's CHECK
    // still refuses one written by hand, and reading one is covered in LifecycleColumnsTest.
    const auto r = store.beginRotation("billing", "schedule", "", 10);
    store::Database raw(dir.file("rotator.db"));
    EXPECT_THROW(
        raw.exec("UPDATE rotations SET stage = 'exploded' WHERE id = " + std::to_string(r.id)),
        core::StoreError);
}

TEST_F(RotationJournal, RunInTransactionCommitsAllOrNothingEvenWithNestedStoreCalls)
{
    auto r = store.beginRotation("billing", "schedule", "", 10);
    EXPECT_THROW(store.runInTransaction([&] {
        r.stage = core::Stage::Minted;
        store.saveRotation(r);
        store.ensureCredentials({"other"}, 11); // opens its own (nested) transaction
        throw std::runtime_error("crash between two writes");
    }),
                 std::runtime_error);
    EXPECT_EQ(store.findRotation(r.id)->stage, core::Stage::Planned);
    EXPECT_FALSE(store.findCredential("other"));

    store.runInTransaction([&] {
        r.stage = core::Stage::Minted;
        store.saveRotation(r);
        store.ensureCredentials({"other"}, 11);
    });
    EXPECT_EQ(store.findRotation(r.id)->stage, core::Stage::Minted);
    EXPECT_TRUE(store.findCredential("other"));
}

TEST_F(RotationJournal, RecordedClientsAreNotRediscovered)
{
    core::ClientInfo c;
    c.clientId = "ZyXwVuTsRqPoNmLkJiHgFeDc";
    c.roles = {"r"};
    c.generatedOn = "2026-01-01T00:00:00.000Z";
    c.generatedOnMs = 1767225600000;
    store.recordClient(c, "billing", 5);
    const auto result = store.syncInventory({c}, 6);
    EXPECT_EQ(result.discovered, 0);
    EXPECT_TRUE(store.history({}).empty());
}
