#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Formatter.h>
#include <Poco/Logger.h>

#include "rotator/config/Settings.h"

namespace rotator::log
{

/// A channel that masks credentials (`core::redactSecrets`) in every message before passing
/// it on. Installed in code in front of every output, so no configuration can remove it.
/// Thread-safe as far as the wrapped channel is.
class RedactingChannel final : public Poco::Channel
{
public:
    explicit RedactingChannel(Poco::AutoPtr<Poco::Channel> next);
    void log(const Poco::Message& message) override;
    void open() override;
    void close() override;

private:
    Poco::AutoPtr<Poco::Channel> _next;
};

/// One JSON object per line: `time` (RFC 3339 UTC, ms), `level`, `logger`, `message`, and the
/// message's `credential`, `clientId` and `rotation` properties when set (see `logWith`).
class JsonFormatter final : public Poco::Formatter
{
public:
    void format(const Poco::Message& message, std::string& text) override;
};

/// Builds the channel chain (redaction -> formatter (text or JSON) -> stderr or file) for
/// `settings` and installs it on every logger. Throws core::ConfigError (key `log.file`) when
/// the log file cannot be opened.
void setupLogging(const config::LogSettings& settings);

/// Logging for commands that run before the configuration is known: warnings to stderr.
void setupBootstrapLogging();

/// Closes and reopens the log file (after logrotate moved it); a no-op when logging to stderr.
void reopenLogFile();

/// Logs `text` with structured fields (`credential`, `clientId`, `rotation`) that the JSON
/// format emits as members; the text format shows only the text.
void logWith(Poco::Logger& logger, Poco::Message::Priority priority, const std::string& text,
             std::initializer_list<std::pair<const char*, std::string>> fields);

} // namespace rotator::log
