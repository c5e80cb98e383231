#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace Poco
{
class Logger;
}

namespace rotator::admin
{

/// What the exception being handled says; call only inside a catch block.
std::string currentFailure();

/// The admin front end's lines about connections it refuses or drops, kept readable under a
/// flood: at most kLoggedPerWindow refusals are logged a window, the others are counted and
/// summed up in one line when their window ends. Only a refusal's own line may throw (its
/// connection is then dropped); the other lines are lost when the log cannot be written (a
/// full disk), never the loop. `dropped` may be called from any thread, the others from the
/// loop thread only.
class RefusalLog
{
public:
    static constexpr int kLoggedPerWindow = 10;
    static constexpr std::int64_t kWindowMs = 10'000;

    explicit RefusalLog(Poco::Logger& log) : _log(log) {}

    /// A refused connection: "ADDRESS STATUS CODE: MESSAGE", or only counted.
    void refused(std::int64_t now, const std::string& address, int status, const std::string& code,
                 const std::string& message);
    /// A connection dropped after an error (`why`, never a request's content).
    void dropped(const std::string& address, const std::string& why) noexcept;
    /// Logs the count of the refusals not logged once their window is over, and starts anew.
    void endWindow(std::int64_t now) noexcept;
    /// How long until a pending summary is due; nothing when none is pending.
    std::optional<std::int64_t> summaryDueIn(std::int64_t now) const;

private:
    Poco::Logger& _log;
    std::int64_t _windowStartMs = 0;
    int _logged = 0;
    int _unlogged = 0;
};

} // namespace rotator::admin
