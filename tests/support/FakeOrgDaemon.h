#pragma once

#include <memory>
#include <sstream>
#include <string>

#include "rotator/api/TokenApi.h"
#include "rotator/app/Daemon.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "support/ForwardingTokenApi.h"

namespace rotator::test
{

/// `admin.listen = 127.0.0.1:0` as the loader reads it: the admin API on any free loopback port.
inline void listenOnAnyLoopbackPort(config::AdminSettings& admin)
{
    admin.listen = "127.0.0.1:0";
    admin.host = "127.0.0.1";
    admin.port = 0;
}

/// `serve`'s daemon with `org` (a fake, not owned) behind its API client: the admin token
/// comes from a placeholder ASTRA_TOKEN, and what the daemon prints is captured. `settings`,
/// `org` and `clock` must outlive it.
class FakeOrgDaemon
{
public:
    FakeOrgDaemon(const config::Settings& settings, api::TokenApi& org, core::Clock& clock)
        : env{out,
              err,
              clock,
              [](const char* name) -> const char*
              { return std::string(name) == "ASTRA_TOKEN" ? "AstraCS:unused" : nullptr; },
              {}},
          daemon(settings, env,
                 [&org](const config::Settings&, core::Secret, api::RequestObserver)
                 { return std::make_unique<ForwardingTokenApi>(org); })
    {
    }

    std::ostringstream out;
    std::ostringstream err;
    cli::Environment env;
    app::Daemon daemon;
};

} // namespace rotator::test
