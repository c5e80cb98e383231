#pragma once

#include <string>
#include <string_view>

namespace rotator::core
{

/// Masks everything that looks like a credential: `AstraCS:…` tokens, `Bearer …` values and
/// the values of JSON `"secret"` / `"token"` members. The backstop behind the `Secret` type,
/// used by the log channel and for any text that came from outside.
std::string redactSecrets(std::string_view text);

} // namespace rotator::core
