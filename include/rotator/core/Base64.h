#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rotator::core
{

/// Decodes standard, padded base64 (RFC 4648 section 4, as Kubernetes writes Secret data):
/// nullopt for any other character, a length that is not a multiple of 4, or misplaced
/// padding. The result may hold a secret: the caller wipes it. (The encoder is
/// core::base64Encode in SecretMasker.h.)
std::optional<std::string> base64Decode(std::string_view text);

} // namespace rotator::core
