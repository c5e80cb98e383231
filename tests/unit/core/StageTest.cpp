#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "rotator/core/Lifecycle.h"

using rotator::core::Stage;
using rotator::core::StageEvent;
using rotator::core::transition;

namespace
{

const std::vector<Stage> kStages = {Stage::Planned, Stage::Minted,     Stage::Verified,
                                    Stage::Delivering, Stage::Grace,   Stage::Revoked,
                                    Stage::Done,    Stage::RolledBack, Stage::Failed,
                                    Stage::Quarantined};
const std::vector<StageEvent> kEvents = {
    StageEvent::Minted,    StageEvent::Verified,   StageEvent::DeliveryStarted,
    StageEvent::Promoted,  StageEvent::Revoked,    StageEvent::Confirmed,
    StageEvent::RolledBack, StageEvent::Failed,    StageEvent::Quarantined,
    StageEvent::Resumed};

} // namespace

TEST(StageMachine, FollowsTheHappyPath)
{
    Stage s = Stage::Planned;
    for (auto e : {StageEvent::Minted, StageEvent::Verified, StageEvent::DeliveryStarted,
                   StageEvent::Promoted, StageEvent::Revoked, StageEvent::Confirmed})
    {
        auto next = transition(s, e, e == StageEvent::Promoted || e == StageEvent::Revoked ||
                                         e == StageEvent::Confirmed);
        ASSERT_TRUE(next) << toString(s) << " + " << toString(e);
        s = *next;
    }
    EXPECT_EQ(s, Stage::Done);
}

TEST(StageMachine, AcceptsExactlyTheDocumentedTransitions)
{
    // (from, event) -> to, with no sink holding the new client.
    const std::set<std::tuple<Stage, StageEvent, Stage>> legal = {
        {Stage::Planned, StageEvent::Minted, Stage::Minted},
        {Stage::Planned, StageEvent::RolledBack, Stage::RolledBack},
        {Stage::Planned, StageEvent::Failed, Stage::Failed},
        {Stage::Planned, StageEvent::Quarantined, Stage::Quarantined},
        {Stage::Minted, StageEvent::Verified, Stage::Verified},
        {Stage::Minted, StageEvent::DeliveryStarted, Stage::Delivering},
        {Stage::Minted, StageEvent::RolledBack, Stage::RolledBack},
        {Stage::Minted, StageEvent::Quarantined, Stage::Quarantined},
        {Stage::Verified, StageEvent::DeliveryStarted, Stage::Delivering},
        {Stage::Verified, StageEvent::RolledBack, Stage::RolledBack},
        {Stage::Verified, StageEvent::Quarantined, Stage::Quarantined},
        {Stage::Delivering, StageEvent::Promoted, Stage::Grace},
        {Stage::Delivering, StageEvent::RolledBack, Stage::RolledBack},
        {Stage::Delivering, StageEvent::Quarantined, Stage::Quarantined},
        {Stage::Grace, StageEvent::Revoked, Stage::Revoked},
        {Stage::Grace, StageEvent::Confirmed, Stage::Done},
        {Stage::Revoked, StageEvent::Confirmed, Stage::Done},
        {Stage::Quarantined, StageEvent::Resumed, Stage::Delivering},
        {Stage::Quarantined, StageEvent::RolledBack, Stage::RolledBack},
    };
    int checked = 0;
    for (auto from : kStages)
    {
        for (auto event : kEvents)
        {
            const auto to = transition(from, event, false);
            bool expected = false;
            for (const auto& [f, e, t] : legal)
            {
                if (f == from && e == event)
                {
                    expected = true;
                    ASSERT_TRUE(to) << toString(from) << " + " << toString(event);
                    EXPECT_EQ(*to, t);
                }
            }
            if (!expected)
            {
                EXPECT_FALSE(to) << toString(from) << " + " << toString(event) << " -> "
                                 << toString(*to);
            }
            ++checked;
        }
    }
    EXPECT_EQ(checked, 100);
}

TEST(StageMachine, NeverRollsBackOnceASinkHoldsTheNewClient)
{
    for (auto from : kStages)
    {
        EXPECT_FALSE(transition(from, StageEvent::RolledBack, true)) << toString(from);
    }
    EXPECT_EQ(transition(Stage::Delivering, StageEvent::Quarantined, true), Stage::Quarantined);
    EXPECT_EQ(transition(Stage::Delivering, StageEvent::Promoted, true), Stage::Grace);
}

TEST(StageMachine, TerminalStagesHaveNoWayOut)
{
    for (auto from : {Stage::Done, Stage::RolledBack, Stage::Failed})
    {
        EXPECT_TRUE(rotator::core::isTerminal(from));
        for (auto event : kEvents)
        {
            EXPECT_FALSE(transition(from, event, false));
        }
    }
}

TEST(StageMachine, NamesRoundTrip)
{
    for (auto s : kStages)
    {
        EXPECT_EQ(rotator::core::stageFromString(toString(s)), s);
    }
    EXPECT_FALSE(rotator::core::stageFromString("bogus"));
}
