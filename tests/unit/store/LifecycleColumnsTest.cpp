#include <string>

#include <gtest/gtest.h>

#include "rotator/core/Errors.h"
#include "rotator/store/SqliteStateStore.h"
#include "rotator/store/Statement.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

/// A store, and a second connection that writes what no version of the rotator writes (the
/// schema's CHECKs are switched off for it, as a hand edit or a foreign tool could do).
class LifecycleColumns : public ::testing::Test
{
protected:
    LifecycleColumns() : store(dir.file("rotator.db")), raw(dir.file("rotator.db"))
    {
        store.ensureCredentials({"billing"}, 1);
        raw.exec("PRAGMA ignore_check_constraints = ON");
    }

    /// The message of the StoreError `read` throws (empty when it throws nothing).
    template <typename Fn> static std::string errorOf(Fn&& read)
    {
        try
        {
            read();
        }
        catch (const core::StoreError& e)
        {
            return e.what();
        }
        return "";
    }

    std::string column(const std::string& sql)
    {
        auto query = raw.prepare(sql);
        return query.step() ? query.getText(0) : std::string("<no row>");
    }

    test::TempDir dir;
    store::SqliteStateStore store;
    store::Database raw;
};

} // namespace

TEST_F(LifecycleColumns, TheEnumsAreStoredAsTheirTextNames)
{
    auto rotation = store.beginRotation("billing", "schedule", "", 10);
    rotation.stage = core::Stage::RolledBack;
    store.saveRotation(rotation);
    auto row = *store.findCredential("billing");
    row.state = core::CredentialState::Quarantined;
    store.saveCredential(row);
    store::SinkStateRow sink;
    sink.sink = "vault";
    sink.state = core::SinkDelivery::Delivered;
    store.saveSinkState(rotation.id, sink);

    EXPECT_EQ(column("SELECT stage FROM rotations"), "rolled_back");
    EXPECT_EQ(column("SELECT state FROM credentials"), "quarantined");
    EXPECT_EQ(column("SELECT state FROM rotation_sinks"), "delivered");
    EXPECT_EQ(store.findRotation(rotation.id)->stage, core::Stage::RolledBack);
    EXPECT_EQ(store.findCredential("billing")->state, core::CredentialState::Quarantined);
    EXPECT_EQ(store.sinkStates(rotation.id).at(0).state, core::SinkDelivery::Delivered);
}

TEST_F(LifecycleColumns, AnUnknownStageInTheDatabaseIsAnErrorNamingTheColumnAndValue)
{
    const auto rotation = store.beginRotation("billing", "schedule", "", 10);
    raw.exec("UPDATE rotations SET stage = 'exploded'");
    const std::string error = errorOf([&] { store.findRotation(rotation.id); });
    EXPECT_NE(error.find("rotations.stage"), std::string::npos) << error;
    EXPECT_NE(error.find("\"exploded\""), std::string::npos) << error;
    EXPECT_NE(error.find(dir.file("rotator.db")), std::string::npos) << error;
    EXPECT_FALSE(errorOf([&] { store.unfinishedRotations(); }).empty());
}

TEST_F(LifecycleColumns, AnUnknownCredentialStateInTheDatabaseIsAnErrorNamingTheColumnAndValue)
{
    raw.exec("UPDATE credentials SET state = 'sleeping'");
    const std::string error = errorOf([&] { store.findCredential("billing"); });
    EXPECT_NE(error.find("credentials.state"), std::string::npos) << error;
    EXPECT_NE(error.find("\"sleeping\""), std::string::npos) << error;
    EXPECT_FALSE(errorOf([&] { store.listCredentials(); }).empty());
}

TEST_F(LifecycleColumns, AnUnknownSinkDeliveryStateInTheDatabaseIsAnErrorNamingTheColumnAndValue)
{
    const auto rotation = store.beginRotation("billing", "schedule", "", 10);
    store::SinkStateRow sink;
    sink.sink = "vault";
    store.saveSinkState(rotation.id, sink);
    raw.exec("UPDATE rotation_sinks SET state = 'Delivered'"); // the case matters
    const std::string error = errorOf([&] { store.sinkStates(rotation.id); });
    EXPECT_NE(error.find("rotation_sinks.state"), std::string::npos) << error;
    EXPECT_NE(error.find("\"Delivered\""), std::string::npos) << error;
}
