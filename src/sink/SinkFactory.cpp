#include "rotator/sink/SinkFactory.h"

#include <stdexcept>

#include "rotator/sink/ExecSink.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/KubernetesSink.h"

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
    case config::SinkType::Kubernetes:
    {
        // Sinks keep no state between calls; the clock only stamps annotations and paces the
        // channel's deadline watchdog, so one real clock serves every kubernetes sink.
        static core::SystemClock clock;
        return std::make_unique<KubernetesSink>(settings, clock);
    }
    case config::SinkType::Vault:
    case config::SinkType::AwsSecretsManager:
        throw std::logic_error("sinks." + settings.name + ": this sink type is not built yet");
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
