#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/core/Lifecycle.h"

using namespace rotator::core;

namespace
{

const std::vector<Stage> kStages = {
    Stage::Planned, Stage::Minted, Stage::Verified,   Stage::Delivering, Stage::Grace,
    Stage::Revoked, Stage::Done,   Stage::RolledBack, Stage::Failed,     Stage::Quarantined};
const std::vector<CredentialState> kStates = {CredentialState::Idle, CredentialState::Rotating,
                                              CredentialState::Grace, CredentialState::Failed,
                                              CredentialState::Quarantined};
const std::vector<SinkDelivery> kDeliveries = {SinkDelivery::Pending, SinkDelivery::Delivered,
                                               SinkDelivery::Failed};

template <typename Enum> std::vector<std::string> names(const std::vector<Enum>& values)
{
    std::vector<std::string> out;
    for (const auto v : values)
    {
        out.emplace_back(toString(v));
    }
    return out;
}

} // namespace

TEST(Lifecycle, EachEnumIsNamedByExactlyTheWordsOfTheSchemasCheckLists)
{
    // These words are the database's values (migrations/0001_initial.sql) and the outputs'.
    EXPECT_EQ(names(kStages), (std::vector<std::string>{"planned", "minted", "verified",
                                                        "delivering", "grace", "revoked", "done",
                                                        "rolled_back", "failed", "quarantined"}));
    EXPECT_EQ(names(kStates),
              (std::vector<std::string>{"idle", "rotating", "grace", "failed", "quarantined"}));
    EXPECT_EQ(names(kDeliveries), (std::vector<std::string>{"pending", "delivered", "failed"}));
}

TEST(Lifecycle, EveryNameReadsBackAsItsEnumAndNoOtherTextDoes)
{
    for (const auto s : kStages)
    {
        EXPECT_EQ(stageFromString(toString(s)), s);
    }
    for (const auto s : kStates)
    {
        EXPECT_EQ(credentialStateFromString(toString(s)), s);
    }
    for (const auto d : kDeliveries)
    {
        EXPECT_EQ(sinkDeliveryFromString(toString(d)), d);
    }
    for (const std::string text : {"", "Planned", "planned ", "exploded", "sleeping", "retired"})
    {
        EXPECT_FALSE(stageFromString(text)) << text;
        EXPECT_FALSE(credentialStateFromString(text)) << text;
        EXPECT_FALSE(sinkDeliveryFromString(text)) << text;
    }
}

TEST(Lifecycle, InProgressActiveAndTerminalStagesPartitionAsDocumented)
{
    for (const auto s : kStages)
    {
        const bool inProgress = s == Stage::Planned || s == Stage::Minted || s == Stage::Verified ||
                                s == Stage::Delivering;
        EXPECT_EQ(isInProgress(s), inProgress) << s;
        EXPECT_EQ(isActive(s), inProgress || s == Stage::Quarantined) << s;
        EXPECT_EQ(isTerminal(s), s == Stage::Done || s == Stage::RolledBack || s == Stage::Failed)
            << s;
        // Grace and revoked are neither active nor terminal: waiting for the old client's end.
        EXPECT_FALSE(isActive(s) && isTerminal(s)) << s;
    }
}

TEST(Lifecycle, ADeliveredSinkStaysDeliveredAndEveryOtherDeliveryStateMayMoveAnywhere)
{
    for (const auto from : kDeliveries)
    {
        for (const auto to : kDeliveries)
        {
            EXPECT_EQ(keepsDelivered(from, to), from != SinkDelivery::Delivered || to == from)
                << from << " -> " << to;
        }
    }
}

TEST(Lifecycle, FailedAndQuarantinedCredentialsAreFailing)
{
    for (const auto s : kStates)
    {
        EXPECT_EQ(isFailing(s), s == CredentialState::Failed || s == CredentialState::Quarantined)
            << s;
    }
}
