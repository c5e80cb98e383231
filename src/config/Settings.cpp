#include "rotator/config/Settings.h"

namespace rotator::config
{

const CredentialSettings* Settings::findCredential(const std::string& name) const
{
    for (const auto& c : credentials)
    {
        if (c.name == name)
        {
            return &c;
        }
    }
    return nullptr;
}

const SinkSettings* Settings::findSink(const std::string& name) const
{
    for (const auto& s : sinks)
    {
        if (s.name == name)
        {
            return &s;
        }
    }
    return nullptr;
}

} // namespace rotator::config
