#include "rotator/config/TokenSource.h"

#include <sys/stat.h>

#include <cerrno>

#include <Poco/Logger.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Token.h"
#include "rotator/os/Errno.h"
#include "rotator/os/CoreDump.h"

namespace rotator::config
{

namespace
{

Poco::Logger& logger()
{
    return Poco::Logger::get("token");
}

} // namespace

TokenSource::TokenSource(core::Secret fixed)
{
    use(std::move(fixed));
}

TokenSource::TokenSource(std::string path, std::string key, core::Secret initial)
    : _path(std::move(path)), _key(std::move(key))
{
    use(std::move(initial));
}

void TokenSource::use(core::Secret token)
{
    _token = std::move(token);
    // The admin client's ID is asked after every create and for every lost-create candidate:
    // parsed once per token, not per question.
    _clientId = core::clientIdOfToken(_token);
    // The token in use lives as long as the process: its pages stay out of any core dump.
    os::excludeFromCoreDumps(_token.reveal().data(), _token.size());
}

std::shared_ptr<TokenSource> TokenSource::follow(const std::string& path, const std::string& key,
                                                 std::vector<std::string>& warnings)
{
    // Stamp before reading: a replacement between the two is then seen by the next look.
    const Stamp before = stampOf(path);
    auto source = std::make_shared<TokenSource>(path, key, readTokenFile(path, key, warnings));
    source->_seen = before;
    source->_looked = true;
    return source;
}

TokenSource::Stamp TokenSource::stampOf(const std::string& path)
{
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0)
    {
        return Stamp{0, 0, 0, 0, 0, 0, 0, errno};
    }
    // The change time too: a chmod that repairs a refused file's mode is a reason to read again.
    return Stamp{st.st_dev,         st.st_ino,          st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                 st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size,        0};
}

core::Secret TokenSource::current()
{
    std::lock_guard<std::mutex> lock(_mutex);
    lookLocked();
    return _token;
}

std::string TokenSource::clientId()
{
    std::lock_guard<std::mutex> lock(_mutex);
    lookLocked();
    return _clientId;
}

bool TokenSource::matches(std::string_view candidate)
{
    std::lock_guard<std::mutex> lock(_mutex);
    lookLocked();
    return core::constantTimeEquals(candidate, _token.reveal());
}

void TokenSource::lookLocked()
{
    if (_path.empty())
    {
        return;
    }
    const Stamp now = stampOf(_path);
    if (_looked && now == _seen)
    {
        return;
    }
    _seen = now;
    _looked = true;
    if (const int error = std::get<7>(now); error != 0)
    {
        logger().warning("%s: cannot stat token file %s (%s); keeping the token in use", _key,
                         _path, os::errnoText(error));
        return;
    }
    readLocked();
}

std::optional<core::Secret> TokenSource::replacementFor(const core::Secret& refused)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_path.empty())
    {
        return std::nullopt;
    }
    _seen = stampOf(_path);
    _looked = true;
    readLocked();
    // Against the refused token, not the one held before this read: another worker's look may
    // have taken the new token from the file between the refused request and now.
    if (core::constantTimeEquals(refused.reveal(), _token.reveal()))
    {
        return std::nullopt;
    }
    return _token;
}

void TokenSource::adopt(core::Secret token)
{
    std::lock_guard<std::mutex> lock(_mutex);
    // The stamp stays that of the last look: a file unchanged since then (its token refused, the
    // adopted one from a pending file) is not read back, and a file changed since (the rotator
    // wrote `token`, and someone may have replaced it again before this call) is read at the
    // next look, which costs one extra read.
    use(std::move(token));
}

void TokenSource::readLocked()
{
    std::vector<std::string> warnings;
    try
    {
        core::Secret fresh = readTokenFile(_path, _key, warnings);
        if (core::constantTimeEquals(fresh.reveal(), _token.reveal()))
        {
            return;
        }
        use(std::move(fresh));
    }
    catch (const core::ConfigError& e)
    {
        // readTokenFile's messages name the key and the path, never the content.
        logger().warning("%s; keeping the token in use", std::string(e.what()));
        return;
    }
    logger().information("%s: token file %s changed; using the new token", _key, _path);
    for (const auto& w : warnings)
    {
        logger().warning(w);
    }
}

} // namespace rotator::config
