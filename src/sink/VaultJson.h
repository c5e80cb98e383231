#pragma once

// Private to the vault sink's sources.

#include <string_view>

#include <Poco/JSON/Object.h>

namespace rotator::sink::detail
{

/// `body` parsed as a JSON object; null when it is not one. Never throws.
Poco::JSON::Object::Ptr parseVaultObject(std::string_view body);

} // namespace rotator::sink::detail
