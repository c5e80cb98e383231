#include "rotator/sink/SinkFactory.h"

#include <stdexcept>

#include "rotator/sink/ExecSink.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/VaultSink.h"

namespace rotator::sink
{

std::unique_ptr<SecretSink> makeSink(const config::SinkSettings& settings)
{
    switch (settings.type)
    {
    case config::SinkType::Exec:
        return std::make_unique<ExecSink>(settings);
    case config::SinkType::File:
        break;
    case config::SinkType::Vault:
    {
        // The sink lives as long as the program: so does its clock.
        static core::SystemClock clock;
        return std::make_unique<VaultSink>(settings, clock);
    }
    case config::SinkType::Kubernetes:
    case config::SinkType::AwsSecretsManager:
        throw std::logic_error("sinks." + settings.name + ": this sink type is not built yet");
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
