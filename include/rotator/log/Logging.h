#pragma once

#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

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

/// Builds the channel chain (redaction -> formatter -> stderr or file) for `settings` and
/// installs it on the root logger. Throws core::ConfigError (key `log.file`) when the log
/// file cannot be opened.
void setupLogging(const config::LogSettings& settings);

/// Logging for commands that run before the configuration is known: warnings to stderr.
void setupBootstrapLogging();

} // namespace rotator::log
