#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotator::core
{

/// The description marker a rotation sends on create, and what a listed description says.
///
/// `astra-rotator <installation-id> <credential> <rotation-id>`: the installation id (16
/// lower-case hex digits, one per database) keeps installations that share an org apart.
/// Rotations journaled before installation ids existed carry the old form
/// `astra-rotator <credential> <rotation-id>`; such a marker names no installation.
struct Marker
{
    std::string installationId; ///< empty for the old form
    std::string credential;
    std::int64_t rotationId = 0;
};

/// The marker of rotation `rotationId` of `credential` made by `installationId`.
std::string formatMarker(std::string_view installationId, std::string_view credential,
                         std::int64_t rotationId);

/// Parses a description; nullopt when it is not a marker of either form.
std::optional<Marker> parseMarker(std::string_view description);

/// True for 16 lower-case hex digits.
bool isInstallationId(std::string_view text);

} // namespace rotator::core
