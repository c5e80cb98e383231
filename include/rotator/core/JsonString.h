#pragma once

#include <string>
#include <string_view>

namespace rotator::core
{

/// Appends `value` as a JSON string literal, quotes included: `"` and `\` escaped, the short
/// escapes for \b \f \n \r \t, \u00XX for other control bytes, and every other byte (UTF-8
/// included) as it is. For JSON written by hand (the credential file, the roles column); the
/// exec sink's output masking relies on producing exactly these bytes.
void appendJsonString(std::string& out, std::string_view value);

} // namespace rotator::core
