#include "rotator/config/TokenSource.h"

#include <sys/stat.h>

#include <cerrno>

#include <Poco/Logger.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
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

TokenSource::TokenSource(core::Secret fixed) : _token(std::move(fixed))
{
    keepOutOfCoreDumps();
}

TokenSource::TokenSource(std::string path, std::string key, core::Secret initial)
    : _path(std::move(path)), _key(std::move(key)), _token(std::move(initial))
{
    keepOutOfCoreDumps();
}

void TokenSource::keepOutOfCoreDumps() const noexcept
{
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
    if (_path.empty())
    {
        return _token;
    }
    const Stamp now = stampOf(_path);
    if (_looked && now == _seen)
    {
        return _token;
    }
    _seen = now;
    _looked = true;
    if (const int error = std::get<7>(now); error != 0)
    {
        logger().warning("%s: cannot stat token file %s (%s); keeping the token in use", _key,
                         _path, os::errnoText(error));
        return _token;
    }
    readLocked();
    return _token;
}

bool TokenSource::reread()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_path.empty())
    {
        return false;
    }
    _seen = stampOf(_path);
    _looked = true;
    return readLocked();
}

void TokenSource::adopt(core::Secret token)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _token = std::move(token);
    keepOutOfCoreDumps();
    if (!_path.empty())
    {
        // The file as it is now is known: only a later change is read again.
        _seen = stampOf(_path);
        _looked = true;
    }
}

bool TokenSource::readLocked()
{
    std::vector<std::string> warnings;
    try
    {
        core::Secret fresh = readTokenFile(_path, _key, warnings);
        if (core::constantTimeEquals(fresh.reveal(), _token.reveal()))
        {
            return false;
        }
        _token = std::move(fresh);
        keepOutOfCoreDumps();
    }
    catch (const core::ConfigError& e)
    {
        // readTokenFile's messages name the key and the path, never the content.
        logger().warning("%s; keeping the token in use", std::string(e.what()));
        return false;
    }
    logger().information("%s: token file %s changed; using the new token", _key, _path);
    for (const auto& w : warnings)
    {
        logger().warning(w);
    }
    return true;
}

} // namespace rotator::config
