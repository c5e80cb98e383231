#pragma once

#include <memory>

#include "rotator/config/Settings.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::sink
{

/// The sink a `sinks.<name>` section describes by its `type`: an ExecSink, a KubernetesSink, a
/// VaultSink, an AwsSecretsManagerSink, else a FileSink. The one place that knows every implementation, so the
/// interface's header does not; whoever wires the program includes this, everything else sees only
/// SecretSink.
std::unique_ptr<SecretSink> makeSink(const config::SinkSettings& settings);

} // namespace rotator::sink
