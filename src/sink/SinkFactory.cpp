#include "rotator/sink/SinkFactory.h"

#include <stdexcept>

#include "rotator/sink/ExecSink.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/KubernetesSink.h"
#include "rotator/sink/VaultSink.h"

namespace rotator::sink
{

std::unique_ptr<SecretSink> makeSink(const config::SinkSettings& settings)
{
    // The store sinks live as long as the program; their clock stamps annotations, paces
    // renewals and the connections' deadline watchdog: one real clock serves them all.
    static core::SystemClock clock;
    switch (settings.type)
    {
    case config::SinkType::Exec:
        return std::make_unique<ExecSink>(settings);
    case config::SinkType::File:
        break;
    case config::SinkType::Kubernetes:
        return std::make_unique<KubernetesSink>(settings, clock);
    case config::SinkType::Vault:
        return std::make_unique<VaultSink>(settings, clock);
    case config::SinkType::AwsSecretsManager:
        throw std::logic_error("sinks." + settings.name + ": this sink type is not built yet");
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
