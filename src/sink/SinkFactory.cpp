#include "rotator/sink/SinkFactory.h"

#include "rotator/core/Clock.h"
#include "rotator/sink/AwsSecretsManagerSink.h"
#include "rotator/sink/ExecSink.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/KubernetesSink.h"
#include "rotator/sink/VaultSink.h"

namespace rotator::sink
{

std::unique_ptr<SecretSink> makeSink(const config::SinkSettings& settings)
{
    // The store sinks live as long as the program; their clock stamps annotations, signs AWS
    // requests (X-Amz-Date), paces renewals and credential refreshes: one real clock for all.
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
        return std::make_unique<AwsSecretsManagerSink>(settings, clock);
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
