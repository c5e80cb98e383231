#pragma once

// Internal: the JSON string escaping renderJson uses, shared with ExecSink's output masking.

#include <string>
#include <string_view>

namespace rotator::sink::detail
{

/// Appends `value` as a JSON string literal (with the quotes) the way renderJson writes it.
void appendJsonString(std::string& out, std::string_view value);

} // namespace rotator::sink::detail
