#pragma once

#include <string>

#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::app
{

/// `astra.tokenFile` as the first sink of the admin credential (`config::kTokenFileSink`).
///
/// Writes the token alone (the form `readTokenFile` reads) with a FileSink, atomically, with
/// the owner, group and mode the file has at that moment (so whoever set them up keeps them;
/// `sink::asTheFileIsNow`), and then makes the API client call with the new token at once: the
/// token file and the token in use change together. Its directory is trusted as the token
/// file's is. Stateless between calls, thread-safe as the API is; failures are the FileSink's.
class TokenFileSink final : public sink::SecretSink
{
public:
    TokenFileSink(config::SinkSettings settings, api::TokenApi& api);

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const sink::Credential& credential) override;
    core::Outcome<void> check() const override;

private:
    config::SinkSettings _settings;
    api::TokenApi& _api;
};

} // namespace rotator::app
