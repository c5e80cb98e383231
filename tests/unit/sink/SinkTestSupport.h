#pragma once

// Helpers shared by the sink tests: a credential with recognisable secrets, a capture of the
// "sink" logger, and a few file-system probes.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <dirent.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include "rotator/core/Token.h"
#include "rotator/sink/Credential.h"

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
        }
        std::vector<std::string> messages() const
        {
            std::lock_guard<std::mutex> lock(_mutex);
            return _messages;
        }

    private:
        mutable std::mutex _mutex;
        std::vector<std::string> _messages;
    };

    Poco::Logger& _logger;
    Poco::Channel::Ptr _oldChannel;
    int _oldLevel;
    Poco::AutoPtr<Capture> _channel;
};

/// The names in a directory, "." and ".." excluded, sorted.
inline std::vector<std::string> listDir(const std::string& path)
{
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str()))
    {
        while (const dirent* entry = ::readdir(dir))
        {
            const std::string name = entry->d_name;
            if (name != "." && name != "..")
            {
                names.push_back(name);
            }
        }
        ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
}

inline struct stat lstatOf(const std::string& path)
{
    struct stat st = {};
    if (::lstat(path.c_str(), &st) != 0)
    {
        st.st_ino = 0;
    }
    return st;
}

/// True when `pid` no longer runs: gone, or a zombie waiting for a reaper that is not us (in
/// a container the init process may be slow to reap orphans).
inline bool processGone(pid_t pid)
{
    if (::kill(pid, 0) != 0 && errno == ESRCH)
    {
        return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
    {
        return true;
    }
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

/// Polls `done` until it holds or `limit` passes; a bounded wait, not a fixed sleep.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done())
    {
        if (std::chrono::steady_clock::now() >= deadline)
        {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

/// Children of this process that are zombies (exited, never reaped).
inline std::vector<pid_t> zombieChildren()
{
    std::vector<pid_t> zombies;
    const std::string self = std::to_string(::getpid());
    for (const auto& name : listDir("/proc"))
    {
        if (name.find_first_not_of("0123456789") != std::string::npos)
        {
            continue;
        }
        std::ifstream stat("/proc/" + name + "/stat");
        std::string line;
        if (!std::getline(stat, line))
        {
            continue;
        }
        const auto close = line.rfind(')');
        if (close == std::string::npos || close + 2 >= line.size())
        {
            continue;
        }
        // After ")": " <state> <ppid> ..."
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        std::string ppid;
        rest >> state >> ppid;
        if (state == "Z" && ppid == self)
        {
            zombies.push_back(static_cast<pid_t>(std::stoi(name)));
        }
    }
    return zombies;
}

} // namespace rotator::sinktest
