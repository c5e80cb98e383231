#include "rotator/app/TokenFileSink.h"

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
    return sink::FileSink(sink::asTheFileIsNow(_settings)).describe();
}

core::Outcome<void> TokenFileSink::deliver(const sink::Credential& credential)
{
    auto written = sink::FileSink(sink::asTheFileIsNow(_settings)).deliver(credential);
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
    return sink::FileSink(sink::asTheFileIsNow(_settings)).check();
}

} // namespace rotator::app
