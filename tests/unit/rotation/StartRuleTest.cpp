#include <optional>

#include <gtest/gtest.h>

#include "rotator/rotation/StartRule.h"

using namespace rotator;
using rotation::StartBlock;
using rotation::startBlock;

namespace
{

constexpr std::int64_t kNow = 1'000'000;

std::optional<store::RotationRow> rotationAt(core::Stage stage)
{
    store::RotationRow r;
    r.id = 7;
    r.stage = stage;
    return r;
}

std::optional<store::CredentialRow> withPrevious(std::optional<std::int64_t> revokeAfterMs)
{
    store::CredentialRow row;
    row.name = "billing";
    row.currentClientId = "new";
    row.previousClientId = "old";
    row.revokeAfterMs = revokeAfterMs;
    return row;
}

} // namespace

TEST(StartRule, ARotationInProgressBlocksANewOneAndAnyOtherStageDoesNot)
{
    for (const auto stage : {core::Stage::Planned, core::Stage::Minted, core::Stage::Verified,
                             core::Stage::Delivering})
    {
        EXPECT_EQ(startBlock(rotationAt(stage), std::nullopt, kNow), StartBlock::InProgress)
            << stage;
    }
    // A quarantined rotation is lifted by a manual rotation, so it does not block one.
    for (const auto stage : {core::Stage::Quarantined, core::Stage::Grace, core::Stage::Revoked,
                             core::Stage::Done, core::Stage::RolledBack, core::Stage::Failed})
    {
        EXPECT_EQ(startBlock(rotationAt(stage), std::nullopt, kNow), StartBlock::None) << stage;
    }
    EXPECT_EQ(startBlock(std::nullopt, std::nullopt, kNow), StartBlock::None);
}

TEST(StartRule, APreviousClientBlocksUntilItsGracePeriodIsOver)
{
    EXPECT_EQ(startBlock(std::nullopt, withPrevious(kNow + 1), kNow), StartBlock::InGrace);
    EXPECT_EQ(startBlock(std::nullopt, withPrevious(std::nullopt), kNow), StartBlock::InGrace)
        << "no revocation time: waits for a pass to give it one";
    EXPECT_EQ(startBlock(std::nullopt, withPrevious(kNow), kNow), StartBlock::None);
    EXPECT_EQ(startBlock(std::nullopt, withPrevious(kNow - 1), kNow), StartBlock::None);
    auto none = withPrevious(kNow + 1);
    none->previousClientId.clear();
    EXPECT_EQ(startBlock(std::nullopt, none, kNow), StartBlock::None);
}

TEST(StartRule, TheInProgressRefusalNamesTheRotationItsCredentialAndItsStage)
{
    auto last = rotationAt(core::Stage::Minted).value();
    last.credential = "billing";
    EXPECT_EQ(rotation::inProgressRefusal(last),
              "rotation 7 of billing is in progress (stage minted)");
}

TEST(StartRule, ARotationInProgressIsReportedBeforeAGracePeriod)
{
    EXPECT_EQ(startBlock(rotationAt(core::Stage::Delivering), withPrevious(kNow + 1), kNow),
              StartBlock::InProgress);
    EXPECT_EQ(startBlock(rotationAt(core::Stage::Grace), withPrevious(kNow + 1), kNow),
              StartBlock::InGrace);
}
