#include "rotator/sink/SinkFactory.h"

#include <stdexcept>

#include "rotator/core/Clock.h"
#include "rotator/sink/AwsSecretsManagerSink.h"
#include "rotator/sink/ExecSink.h"
#include "rotator/sink/FileSink.h"

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
    case config::SinkType::AwsSecretsManager:
    {
        // makeSink takes no clock: the real one signs requests (X-Amz-Date) and times
        // credential refreshes.
        static core::SystemClock clock;
        return std::make_unique<AwsSecretsManagerSink>(settings, clock);
    }
    case config::SinkType::Kubernetes:
    case config::SinkType::Vault:
        throw std::logic_error("sinks." + settings.name + ": this sink type is not built yet");
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
