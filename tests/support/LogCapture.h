#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

namespace rotator::test
{

/// Captures every log message of the process while it lives.
///
/// The constructor installs one capturing channel on the root logger and on every logger that
/// already exists (`Poco::Logger::setChannel("", ...)`), and sets them all to the trace level,
/// so debug lines are captured too; loggers created later inherit both from the root. The raw
/// message text is recorded, before any redaction a product channel would apply, which makes a
/// "no secret in the log" assertion stricter than the product needs. The destructor restores
/// the previous channel and level of every logger (loggers created meanwhile get those of their
/// nearest pre-existing ancestor). Not nestable. `text()`/`lines()` may be called from any
/// thread while messages are being logged.
class LogCapture
{
public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    /// Every captured message as `source: text`, one per line.
    std::string text() const;
    std::vector<std::string> lines() const;
    /// True when any captured message contains `needle`.
    bool contains(const std::string& needle) const;

    class Sink; ///< the capturing channel; defined in LogCapture.cpp

private:
    struct Saved
    {
        Poco::AutoPtr<Poco::Channel> channel;
        int level = 0;
    };

    Poco::AutoPtr<Sink> _sink;
    std::map<std::string, Saved> _saved; ///< logger name ("" is the root) -> previous state
};

} // namespace rotator::test
