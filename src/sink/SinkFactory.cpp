#include "rotator/sink/SinkFactory.h"

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
    }
    return std::make_unique<FileSink>(settings);
}

} // namespace rotator::sink
