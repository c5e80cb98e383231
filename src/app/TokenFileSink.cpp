#include "rotator/app/TokenFileSink.h"

#include <sys/stat.h>

#include "rotator/sink/FileSink.h"

namespace rotator::app
{

TokenFileSink::TokenFileSink(config::SinkSettings settings, api::TokenApi& api)
    : _settings(std::move(settings)), _api(api)
{
    _settings.format = config::SinkFormat::Token;
}

std::string TokenFileSink::describe() const
{
    return sink::FileSink(asTheFileIsNow()).describe();
}

config::SinkSettings TokenFileSink::asTheFileIsNow() const
{
    config::SinkSettings now = _settings;
    struct stat st
    {
    };
    if (::stat(_settings.path.c_str(), &st) == 0)
    {
        now.mode = st.st_mode & 07777;
        now.owner = std::to_string(st.st_uid);
        now.group = std::to_string(st.st_gid);
    }
    return now;
}

core::Outcome<void> TokenFileSink::deliver(const sink::Credential& credential)
{
    auto written = sink::FileSink(asTheFileIsNow()).deliver(credential);
    if (written)
    {
        // Switch now, not at the next look at the file: from here on the old token may be
        // revoked, and nothing may be sent with it any more.
        _api.adoptAdminToken(credential.token);
    }
    return written;
}

core::Outcome<void> TokenFileSink::check() const
{
    return sink::FileSink(asTheFileIsNow()).check();
}

} // namespace rotator::app
