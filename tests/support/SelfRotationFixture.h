#pragma once

// The setup of the in-process self-rotation tests (astra.selfRotation, issue 16 item 1):
// app::Runtime against the in-process simulator on 127.0.0.1:0, the engine and the simulator
// on one FakeClock.

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "support/AdminSeed.h"
#include "support/RotationHarness.h"
#include "support/TempDir.h"

namespace rotator::test
{

inline constexpr std::int64_t kMinute = 60'000;

/// Self-rotation every hour with a 10 minute grace period.
inline const std::string kSelfRotation = "astra.selfRotation.maxAge = 1h\n"
                                         "astra.selfRotation.gracePeriod = 10m\n";

/// The token a token file holds (its first line).
inline std::string tokenIn(const std::string& path)
{
    const std::string text = readFile(path);
    return text.substr(0, text.find('\n'));
}

/// A RotationHarness whose simulator runs on the engine's clock (mint windows and ages on the
/// one clock the tests move), started before each test; the admin token is in `tokenFile()`.
class SelfRotationFixture : public ::testing::Test, protected RotationHarness
{
protected:
    void SetUp() override
    {
        simulatorOnFakeClock = true;
        ASSERT_NO_FATAL_FAILURE(startSimulator());
    }

    std::string tokenFile() const { return dir.file("admin.token"); }
};

} // namespace rotator::test
