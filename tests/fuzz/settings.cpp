// config::loadSettings over a .properties file: anything but core::ConfigError (bad settings)
// or Poco::Exception (Poco's own parser refusing the file) escaping is a finding.

#include "FuzzTarget.h"

#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::istringstream in{std::string(rotator::fuzz::asText(data, size))};
    try
    {
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
            new Poco::Util::PropertyFileConfiguration(in));
        const rotator::config::Settings settings = rotator::config::loadSettings(*cfg);
        for (const auto& credential : settings.credentials)
        {
            FUZZ_CHECK(!credential.roles.empty() && !credential.sinks.empty());
            FUZZ_CHECK(credential.maxAgeMs > 0 && credential.jitterMs < credential.maxAgeMs);
            for (const auto& sink : credential.sinks)
            {
                FUZZ_CHECK(settings.findSink(sink) != nullptr);
            }
        }
    }
    catch (const rotator::core::ConfigError&)
    {
    }
    catch (const Poco::Exception&)
    {
    }
    return 0;
}
