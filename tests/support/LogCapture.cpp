#include "support/LogCapture.h"

#include <mutex>

#include <Poco/Logger.h>
#include <Poco/Message.h>

namespace rotator::test
{

class LogCapture::Sink final : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override
    {
        std::string line = message.getSource() + ": " + message.getText();
        std::lock_guard<std::mutex> lock(_mutex);
        _lines.push_back(std::move(line));
    }

    std::vector<std::string> lines() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _lines;
    }

private:
    mutable std::mutex _mutex;
    std::vector<std::string> _lines;
};

LogCapture::LogCapture() : _sink(new Sink)
{
    Poco::Logger::root(); // make sure the root exists, so that it is saved and captured too
    std::vector<std::string> names;
    Poco::Logger::names(names);
    for (const auto& name : names)
    {
        const Poco::Logger& logger = Poco::Logger::get(name);
        _saved[name] = Saved{logger.getChannel(), logger.getLevel()};
    }
    Poco::Logger::setChannel(Poco::Logger::ROOT, _sink);
    Poco::Logger::setLevel(Poco::Logger::ROOT, Poco::Message::PRIO_TRACE);
}

LogCapture::~LogCapture()
{
    std::vector<std::string> names;
    Poco::Logger::names(names);
    for (const auto& name : names)
    {
        // A logger created during the capture inherited the capture from its parent; give it
        // what it would have inherited without us.
        std::string ancestor = name;
        while (!ancestor.empty() && _saved.count(ancestor) == 0)
        {
            const auto dot = ancestor.rfind('.');
            ancestor = dot == std::string::npos ? std::string() : ancestor.substr(0, dot);
        }
        const auto found = _saved.find(ancestor);
        if (found == _saved.end())
        {
            continue; // no root was saved: cannot happen, the constructor created it
        }
        Poco::Logger& logger = Poco::Logger::get(name);
        logger.setChannel(found->second.channel);
        logger.setLevel(found->second.level);
    }
}

std::string LogCapture::text() const
{
    std::string out;
    for (const auto& line : _sink->lines())
    {
        out += line;
        out += '\n';
    }
    return out;
}

std::vector<std::string> LogCapture::lines() const
{
    return _sink->lines();
}

bool LogCapture::contains(const std::string& needle) const
{
    for (const auto& line : _sink->lines())
    {
        if (line.find(needle) != std::string::npos)
        {
            return true;
        }
    }
    return false;
}

} // namespace rotator::test
