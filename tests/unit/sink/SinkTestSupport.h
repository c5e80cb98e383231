#pragma once

// Helpers shared by the sink tests: a credential with recognisable secrets, a capture of the
// "sink" logger, and (from support/SystemProbes.h) file-system and process probes.

#include <mutex>
#include <string>
#include <vector>

#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include "rotator/core/Token.h"
#include "rotator/sink/Credential.h"
#include "support/SystemProbes.h"

namespace rotator::sinktest
{

// The secret starts with a prefix found nowhere else, so a search for even a few of its
// characters is meaningful.
inline const std::string kClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
inline const std::string kSecret = "Zq9WkXsecret,ValueWith.Punct-And+Plus_Under";
inline const std::string kSecretHead = "Zq9Wk";

inline sink::Credential makeTestCredential(const std::string& secret = kSecret)
{
    sink::Credential c;
    c.credential = "billing";
    c.clientId = kClientId;
    c.secret = core::Secret(secret);
    c.token = core::makeToken(kClientId, c.secret);
    c.orgId = "f8a9e1f0-1234-4abc-8def-000000000001";
    c.roles = {"1faa93f3-d33a-4a8a-8a35-0b3f2b8e5d21", "Database Administrator"};
    c.generatedOn = "2024-05-01T10:20:30.123Z";
    return c;
}

/// True when `text` contains the secret, the token, or their recognisable heads.
inline bool leaks(const std::string& text, const sink::Credential& c)
{
    const std::string& token = c.token.reveal();
    const std::string tokenHash = token.substr(token.rfind(':') + 1);
    return text.find(c.secret.reveal()) != std::string::npos ||
           text.find(token) != std::string::npos ||
           text.find(tokenHash.substr(0, 12)) != std::string::npos ||
           text.find(c.secret.reveal().substr(0, 5)) != std::string::npos;
}

/// Records every message sent to the "sink" logger while it lives.
class LogCapture
{
public:
    LogCapture()
        : _logger(Poco::Logger::get("sink")), _oldChannel(_logger.getChannel()),
          _oldLevel(_logger.getLevel()), _channel(new Capture)
    {
        _logger.setChannel(_channel);
        _logger.setLevel(Poco::Message::PRIO_TRACE);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    ~LogCapture()
    {
        _logger.setChannel(_oldChannel);
        _logger.setLevel(_oldLevel);
    }

    std::vector<std::string> messages() const { return _channel->messages(); }
    /// The priority of the first message containing `fragment`; 0 when none does.
    int priorityOf(const std::string& fragment) const { return _channel->priorityOf(fragment); }
    std::string all() const
    {
        std::string out;
        for (const auto& m : messages())
        {
            out += m + "\n";
        }
        return out;
    }

private:
    class Capture : public Poco::Channel
    {
    public:
        void log(const Poco::Message& message) override
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _messages.push_back(message.getText());
            _priorities.push_back(static_cast<int>(message.getPriority()));
        }
        int priorityOf(const std::string& fragment) const
        {
            std::lock_guard<std::mutex> lock(_mutex);
            for (std::size_t i = 0; i < _messages.size(); ++i)
            {
                if (_messages[i].find(fragment) != std::string::npos)
                {
                    return _priorities[i];
                }
            }
            return 0;
        }
        std::vector<std::string> messages() const
        {
            std::lock_guard<std::mutex> lock(_mutex);
            return _messages;
        }

    private:
        mutable std::mutex _mutex;
        std::vector<std::string> _messages;
        std::vector<int> _priorities;
    };

    Poco::Logger& _logger;
    Poco::Channel::Ptr _oldChannel;
    int _oldLevel;
    Poco::AutoPtr<Capture> _channel;
};

using test::eventually;
using test::listDir;
using test::lstatOf;
using test::processGone;
using test::zombieChildren;

} // namespace rotator::sinktest
