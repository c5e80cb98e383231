#include "RefusalLog.h"

#include <algorithm>
#include <exception>

#include <Poco/Exception.h>
#include <Poco/Logger.h>

namespace rotator::admin
{

std::string currentFailure()
{
    try
    {
        throw;
    }
    catch (const Poco::Exception& e)
    {
        return e.displayText(); // its what() is the class's name only
    }
    catch (const std::exception& e)
    {
        return e.what();
    }
    catch (...)
    {
        return "an unknown exception";
    }
}

void RefusalLog::refused(std::int64_t now, const std::string& address, int status,
                         const std::string& code, const std::string& message)
{
    endWindow(now);
    if (_logged >= kLoggedPerWindow)
    {
        ++_unlogged;
        return;
    }
    ++_logged;
    // May throw (a full disk): the caller's guard drops that one connection.
    _log.information("%s %d %s: %s", address, status, code, message);
}

void RefusalLog::dropped(const std::string& address, const std::string& why) noexcept
{
    try
    {
        _log.error("admin API: dropped the connection of %s after an error: %s", address, why);
    }
    catch (const std::exception&)
    {
        // The log itself fails (a full disk): the connection is dropped all the same, and the
        // thread must go on serving the others.
    }
}

void RefusalLog::endWindow(std::int64_t now) noexcept
{
    if (now - _windowStartMs < kWindowMs)
    {
        return;
    }
    if (_unlogged > 0)
    {
        try
        {
            _log.information("admin API: %d more refused connections in %d s were not logged",
                             _unlogged, static_cast<int>(kWindowMs / 1000));
        }
        catch (const std::exception&)
        {
            // A log that cannot be written loses this line, not the loop.
        }
    }
    _windowStartMs = now;
    _logged = 0;
    _unlogged = 0;
}

std::optional<std::int64_t> RefusalLog::summaryDueIn(std::int64_t now) const
{
    if (_unlogged == 0)
    {
        return std::nullopt;
    }
    return std::max<std::int64_t>(0, _windowStartMs + kWindowMs - now);
}

} // namespace rotator::admin
