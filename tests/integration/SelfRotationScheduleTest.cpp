// When a self-rotation (astra.selfRotation, issue 16 item 1) and the application rotations
// wait for each other: what `serve` sleeps until, and what stops waiting once self-rotation is
// turned off. The setup of SelfRotationTest.cpp (support/SelfRotationFixture.h): app::Runtime
// against the in-process simulator on 127.0.0.1:0, the engine on a FakeClock.

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "rotator/app/Runtime.h"
#include "rotator/sim/Simulator.h"
#include "support/SelfRotationFixture.h"

namespace
{

using namespace rotator;
using test::kHour;
using test::kMinute;
using test::kSelfRotation;
using test::tokenIn;
using test::writeFile;

struct Crash
{
};

class SelfRotationScheduleTest : public test::SelfRotationFixture
{
protected:
    /// `app` (maxAge 1h) adopting a client two hours old, with the json file sink `app-json`
    /// and the exec sink `hook` (script `out/hook.sh`, exiting `hookExit`).
    std::string application(int hookExit)
    {
        writeFile(dir.file("out/hook.sh"),
                  "#!/bin/sh\ncat >/dev/null\nexit " + std::to_string(hookExit) + "\n", 0700);
        return "credentials.app.roles = Database Administrator\n"
               "credentials.app.maxAge = 1h\n"
               "credentials.app.gracePeriod = 10m\n"
               "credentials.app.clientId = " +
               seedClient(2 * kHour) +
               "\n"
               "credentials.app.sinks = app-json, hook\n"
               "sinks.app-json.type = file\n"
               "sinks.app-json.path = " +
               dir.file("out/app.json") +
               "\n"
               "sinks.hook.type = exec\n"
               "sinks.hook.command = " +
               dir.file("out/hook.sh") + "\n";
    }

    /// When `serve` would wake next, as a new process sees it.
    std::optional<std::int64_t> nextWake()
    {
        auto env = environment();
        app::Runtime runtime(settings, env, app::Runtime::Mode::Write);
        return runtime.engine().nextWakeMs();
    }
};

TEST_F(SelfRotationScheduleTest, ADueAdminTokenWaitingForAnApplicationRotationWakesWithIt)
{
    configure(kSelfRotation + application(1));
    pass(); // app: delivered to its file, not to the hook: stays in progress, retried later
    ASSERT_EQ(lastRotation("app").stage, core::Stage::Delivering);
    clock.advanceMs(2 * kHour); // the admin token is due; the hook's retry fails again
    pass();
    ASSERT_EQ(lastRotation("app").stage, core::Stage::Delivering);
    ASSERT_FALSE(openStore()->lastRotation("(admin)")) << "started beside an application rotation";

    // The admin token's due time is two hours ago; serve must not pass every minimum pause
    // (README: it never busy-polls), but wake for the application's retry.
    const auto wake = nextWake();
    ASSERT_TRUE(wake);
    EXPECT_GT(*wake, clock.nowMs());
    EXPECT_EQ(wake, credential("app").nextAttemptMs);
}

TEST_F(SelfRotationScheduleTest, ARevokeRefusedBecauseTheOldTokenIsBackIsRetriedAfterTheBackoff)
{
    configure(kSelfRotation);
    const std::string oldToken = tokenIn(tokenFile());
    pass();
    clock.advanceMs(2 * kHour);
    pass();
    ASSERT_NE(tokenIn(tokenFile()), oldToken);
    // Someone puts the old token back while it is in its grace period.
    writeFile(tokenFile(), oldToken + "\n", 0600);
    clock.advanceMs(11 * kMinute);
    const auto report = pass();
    ASSERT_EQ(report.revoked, 0);
    ASSERT_FALSE(report.errors.empty()) << "the refusal says why";
    EXPECT_NE(report.errors.front().find("it is the client of the admin token in use"),
              std::string::npos)
        << report.errors.front();
    ASSERT_TRUE(alive(adminClientId));

    // Its revoke time is past; the retry waits scheduler.retryBackoff, as after a failed pass.
    EXPECT_EQ(nextWake(), clock.nowMs() + settings.scheduler.retryBackoffMs);
    clock.advanceMs(settings.scheduler.retryBackoffMs);
    EXPECT_EQ(nextWake(), clock.nowMs()) << "retried once the backoff is over";
}

TEST_F(SelfRotationScheduleTest, TurningSelfRotationOffMidRotationLetsTheApplicationsRotate)
{
    const std::string app = application(0);
    configure(kSelfRotation + app);
    clock.advanceMs(2 * kHour); // both due: the admin token goes first, alone
    {
        auto env = environment();
        app::Runtime runtime(settings, env, app::Runtime::Mode::Write);
        runtime.engine().setCrashHook(
            [](std::string_view at)
            {
                if (at == "minted")
                {
                    throw Crash{};
                }
            });
        EXPECT_THROW(runtime.engine().runPass(), Crash);
    }
    ASSERT_EQ(lastRotation("(admin)").stage, core::Stage::Minted);
    ASSERT_FALSE(openStore()->lastRotation("app"));

    // The self-rotation will never switch now: nothing waits for it.
    configure(app);
    const std::string before = credential("app").currentClientId;
    pass();
    ASSERT_TRUE(openStore()->lastRotation("app")) << "the application waits forever";
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Grace);
    EXPECT_NE(credential("app").currentClientId, before);
    // Nor does serve pass every second for the self-rotation, which cannot resume now.
    const auto wake = nextWake();
    ASSERT_TRUE(wake);
    EXPECT_GT(*wake, clock.nowMs());
}

} // namespace
