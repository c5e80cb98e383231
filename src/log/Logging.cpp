#include "rotator/log/Logging.h"

#include <cerrno>
#include <climits>
#include <filesystem>
#include <mutex>

#include <fcntl.h>
#include <unistd.h>

#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Object.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>

#include "rotator/core/CpuAccount.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"
#include "rotator/core/Time.h"
#include "rotator/os/TrustedPath.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::log
{

namespace
{

std::mutex gFileMutex;
Poco::AutoPtr<FdLineChannel> gFile; // the open log file, for SIGHUP

const char* levelName(Poco::Message::Priority p)
{
    switch (p)
    {
    case Poco::Message::PRIO_FATAL:
        return "fatal";
    case Poco::Message::PRIO_CRITICAL:
        return "critical";
    case Poco::Message::PRIO_ERROR:
        return "error";
    case Poco::Message::PRIO_WARNING:
        return "warning";
    case Poco::Message::PRIO_NOTICE:
        return "notice";
    case Poco::Message::PRIO_INFORMATION:
        return "information";
    case Poco::Message::PRIO_DEBUG:
        return "debug";
    case Poco::Message::PRIO_TRACE:
        return "trace";
    }
    return "information";
}

void install(Poco::AutoPtr<Poco::Channel> output, const std::string& level,
             Poco::AutoPtr<Poco::Formatter> formatter)
{
    Poco::AutoPtr<Poco::FormattingChannel> formatting(
        new Poco::FormattingChannel(formatter, output));
    Poco::AutoPtr<Poco::Channel> redacting(new RedactingChannel(formatting));
    // "" is the root: every logger, including those created before this point.
    Poco::Logger::setChannel("", redacting);
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

Poco::AutoPtr<Poco::Formatter> textFormatter()
{
    Poco::AutoPtr<Poco::PatternFormatter> f(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
    f->setProperty("times", "UTC");
    return f;
}

} // namespace

FdLineChannel::FdLineChannel(int fd) : _fd(fd) {}

FdLineChannel::FdLineChannel(int fd, std::string path) : _fd(fd), _path(std::move(path)) {}

FdLineChannel::~FdLineChannel()
{
    if (!_path.empty())
    {
        ::close(_fd);
    }
}

int FdLineChannel::openForAppending(const std::string& path)
{
    // Every directory above it is trusted as the state directory's are (the last may be a
    // root-owned sticky one: the file must be ours anyway), or its owner could swap the file.
    // No link, no FIFO that would block, and only a file the rotator's user alone can write:
    // someone else's file could be a link's target or hold forged lines between ours.
    const std::filesystem::path file(path);
    os::TrustRules rules;
    rules.stickyLastDirectory = true;
    const auto directory = os::openTrustedDirectory(file.parent_path().string(), rules);
    if (!directory)
    {
        throw std::runtime_error("log file " + path + ": " + directory.error().message);
    }
    auto fd = os::openPrivateFile(directory->fd.get(), file.filename().string(),
                                  O_WRONLY | O_APPEND | O_CREAT, 0640, "log file", path);
    if (!fd)
    {
        throw std::runtime_error(fd.error().message);
    }
    return fd->fd.release();
}

Poco::AutoPtr<FdLineChannel> FdLineChannel::appendingTo(const std::string& path)
{
    return Poco::AutoPtr<FdLineChannel>(new FdLineChannel(openForAppending(path), path));
}

void FdLineChannel::reopen()
{
    if (_path.empty())
    {
        return;
    }
    const int fd = openForAppending(_path);
    std::unique_lock<std::shared_mutex> alone(_writing);
    ::close(_fd);
    _fd = fd;
}

void FdLineChannel::log(const Poco::Message& message)
{
    std::string line;
    line.reserve(message.getText().size() + 1);
    line += message.getText();
    line += '\n';
    std::shared_lock<std::shared_mutex> shared(_writing, std::defer_lock);
    std::unique_lock<std::shared_mutex> alone(_writing, std::defer_lock);
    if (line.size() > PIPE_BUF)
    {
        alone.lock();
    }
    else
    {
        shared.lock();
    }
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0)
    {
        const ssize_t n = ::write(_fd, data, left);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            return; // nowhere to report a failing log output; the line is dropped
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
}

RedactingChannel::RedactingChannel(Poco::AutoPtr<Poco::Channel> next) : _next(std::move(next)) {}

void RedactingChannel::log(const Poco::Message& message)
{
    const core::cpu_account::Scope account("log");
    Poco::Message copy(message);
    copy.setText(core::redactSecrets(message.getText()));
    _next->log(copy);
}

void RedactingChannel::open()
{
    _next->open();
}

void RedactingChannel::close()
{
    _next->close();
}

void JsonFormatter::format(const Poco::Message& message, std::string& text)
{
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("time", core::formatRfc3339Ms(message.getTime().epochMicroseconds() / 1000));
    o.set("level", levelName(message.getPriority()));
    o.set("logger", message.getSource());
    o.set("message", message.getText());
    for (const char* key : {"credential", "clientId", "rotation"})
    {
        if (message.has(key))
        {
            o.set(key, message.get(key));
        }
    }
    std::ostringstream out;
    o.stringify(out);
    text = out.str();
}

void setupLogging(const config::LogSettings& settings)
{
    Poco::AutoPtr<Poco::Channel> output;
    if (settings.file.empty())
    {
        output = new FdLineChannel(STDERR_FILENO);
    }
    else
    {
        try
        {
            auto file = FdLineChannel::appendingTo(settings.file);
            std::lock_guard<std::mutex> lock(gFileMutex);
            gFile = file;
            output = file;
        }
        catch (const std::runtime_error& e)
        {
            throw core::ConfigError("log.file", e.what());
        }
    }
    Poco::AutoPtr<Poco::Formatter> formatter = settings.format == config::LogFormat::Json
                                                   ? Poco::AutoPtr<Poco::Formatter>(
                                                         new JsonFormatter)
                                                   : textFormatter();
    install(output, settings.level, formatter);
}

void setupBootstrapLogging()
{
    install(Poco::AutoPtr<Poco::Channel>(new FdLineChannel(STDERR_FILENO)), "warning",
            textFormatter());
}

bool reopenLogFile()
{
    std::lock_guard<std::mutex> lock(gFileMutex);
    if (!gFile)
    {
        return true;
    }
    try
    {
        gFile->reopen();
        return true;
    }
    catch (const std::runtime_error& e)
    {
        Poco::Logger::get("serve").error("%s; still logging to the old file",
                                         std::string(e.what()));
        return false;
    }
}

void logWith(Poco::Logger& logger, Poco::Message::Priority priority, const std::string& text,
             std::initializer_list<std::pair<const char*, std::string>> fields)
{
    if (!logger.is(priority))
    {
        return;
    }
    Poco::Message message(logger.name(), text, priority);
    for (const auto& [key, value] : fields)
    {
        if (!value.empty())
        {
            message.set(key, value);
        }
    }
    logger.log(message);
}

} // namespace rotator::log
