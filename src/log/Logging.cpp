#include "rotator/log/Logging.h"

#include <Poco/ConsoleChannel.h>
#include <Poco/StreamChannel.h>

#include <iostream>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>

#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"

namespace rotator::log
{

RedactingChannel::RedactingChannel(Poco::AutoPtr<Poco::Channel> next) : _next(std::move(next)) {}

void RedactingChannel::log(const Poco::Message& message)
{
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

namespace
{

void install(Poco::AutoPtr<Poco::Channel> output, const std::string& level)
{
    Poco::AutoPtr<Poco::PatternFormatter> formatter(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
    formatter->setProperty("times", "UTC");
    Poco::AutoPtr<Poco::FormattingChannel> formatting(
        new Poco::FormattingChannel(formatter, output));
    Poco::AutoPtr<Poco::Channel> redacting(new RedactingChannel(formatting));
    Poco::Logger::root().setChannel(redacting);
    Poco::Logger::root().setLevel(level);
    // Loggers created before this point keep their old channel unless told.
    Poco::Logger::setChannel("", redacting);
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

} // namespace

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
            output = file;
        }
        catch (const Poco::Exception& e)
        {
            throw core::ConfigError("log.file", "cannot open " + settings.file + ": " +
                                                    e.displayText());
        }
    }
    install(output, settings.level);
}

void setupBootstrapLogging()
{
    install(Poco::AutoPtr<Poco::Channel>(new Poco::StreamChannel(std::clog)), "warning");
}

} // namespace rotator::log
