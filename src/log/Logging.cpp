#include "rotator/log/Logging.h"

#include <iostream>
#include <mutex>

#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Object.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>
#include <Poco/StreamChannel.h>

#include "rotator/core/CpuAccount.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"
#include "rotator/core/Time.h"

namespace rotator::log
{

namespace
{

std::mutex gFileMutex;
Poco::AutoPtr<Poco::FileChannel> gFile; // the open log file, for SIGHUP

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
        output = new Poco::StreamChannel(std::clog);
    }
    else
    {
        try
        {
            Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(settings.file));
            file->open();
            std::lock_guard<std::mutex> lock(gFileMutex);
            gFile = file;
            output = file;
        }
        catch (const Poco::Exception& e)
        {
            throw core::ConfigError("log.file",
                                    "cannot open " + settings.file + ": " + e.displayText());
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
    install(Poco::AutoPtr<Poco::Channel>(new Poco::StreamChannel(std::clog)), "warning",
            textFormatter());
}

void reopenLogFile()
{
    std::lock_guard<std::mutex> lock(gFileMutex);
    if (gFile)
    {
        gFile->close();
        gFile->open();
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
