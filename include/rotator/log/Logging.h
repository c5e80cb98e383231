#pragma once

#include <initializer_list>
#include <shared_mutex>
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

/// Writes each message's text and a newline to a file descriptor in one write(2): stderr, or a
/// log file opened for appending. Writers share a lock and never wait for each other (Poco's
/// StreamChannel and FileChannel hold a mutex across their writes, so concurrent rotations
/// queued behind it): lines up to PIPE_BUF bytes never interleave, even on a pipe, and appends
/// to a file are atomic. A longer line, which a pipe may split, and `reopen` take the lock alone.
class FdLineChannel final : public Poco::Channel
{
public:
    /// Writes to `fd`, which stays the caller's (stderr).
    explicit FdLineChannel(int fd);
    /// Opens `path` for appending (created with mode 0640, O_NOFOLLOW) through directories
    /// checked from `/` (os::openTrustedDirectory) and owns it. Throws std::runtime_error naming
    /// the path when it cannot be opened, and (path, owner, mode, fix) when a directory above it
    /// is not trusted or it is a link, not a regular file, not the effective user's or writable
    /// by its group or others.
    static Poco::AutoPtr<FdLineChannel> appendingTo(const std::string& path);
    ~FdLineChannel() override;

    void log(const Poco::Message& message) override;
    /// Opens the file's path again (after logrotate moved it) and writes there from now on.
    /// Throws as `appendingTo` when it cannot; the old file is kept then. No-op for stderr.
    void reopen();

private:
    FdLineChannel(int fd, std::string path);
    static int openForAppending(const std::string& path);

    int _fd;
    const std::string _path; ///< empty: `_fd` is not ours
    std::shared_mutex _writing;
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
/// When the path cannot be opened it logs why to the old file and returns false.
bool reopenLogFile();

/// Logs `text` with structured fields (`credential`, `clientId`, `rotation`) that the JSON
/// format emits as members; the text format shows only the text.
void logWith(Poco::Logger& logger, Poco::Message::Priority priority, const std::string& text,
             std::initializer_list<std::pair<const char*, std::string>> fields);

} // namespace rotator::log
