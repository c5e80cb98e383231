#pragma once

#include <string>

#include "rotator/config/Settings.h"
#include "rotator/os/TrustedPath.h"

namespace rotator::config
{

/// Refuses what the rotator would trust from a file someone else could change, and file sinks
/// that are one file under two names. `check-config` and every command that acts (the Runtime)
/// run it after loading the settings; the configuration file itself is checked as it is read
/// (`loadSettingsFile`) and token files by `readTokenFile`.
///
/// - `sinks.S.command`: the program of an exec sink (absolute paths only; a relative one is
///   the sink's own error) and every directory above it must belong to root or the rotator's
///   user and be writable by nobody else (`os::openTrustedInput`).
/// - `astra.caFile`: likewise; it decides whom the rotator sends the org token to.
/// - `sinks.S.path`: two file sinks whose directories resolve to the same (device, inode) and
///   that name the same file in it are refused, so a bind mount cannot make them write one
///   file; so is a file sink that names `astra.tokenFile` that way (see
///   `refuseSinkOnAdminTokenFile`). A directory that does not exist yet cannot be resolved: then
///   the normalised paths (compared by the loader already) are all there is, and delivery fails
///   until it exists.
/// - `sinks.S.caFile` of a secret-store sink: likewise, unless `storeSinkFiles` is false
///   (`check-config --offline`: an in-cluster default such as the service account's `ca.crt`
///   exists only where the rotator runs).
///
/// Throws core::ConfigError naming the key, the file, its owner and mode, and the fix.
/// Reads no file's content. Thread-safe.
void checkTrustedInputs(const Settings& settings, bool storeSinkFiles = true);

/// The admin token is not an application credential: rotating it as one revokes it while the
/// rotator still uses it. Refuses (core::ConfigError naming `sinks.S.path`) a file sink whose
/// normalised path is `astra.tokenFile`'s; the loader calls it. Touches no file.
void refuseSinkOnAdminTokenFile(const Settings& settings);

/// Likewise refuses a credential whose `clientId` is the admin token's own client
/// (`adminClientId`, known once the token is read; empty: unknown, nothing to compare), with
/// core::ConfigError naming `credentials.C.clientId`. Called where the API is connected, before
/// any rotation.
void refuseAdminClientAsCredential(const Settings& settings, const std::string& adminClientId);

/// Opens an input file (the configuration, a CA or token file) with `os::openTrustedInput`
/// and returns it, or throws core::ConfigError naming `key` (empty for the configuration
/// file, whose message names "--config") with the reason and the fix.
os::TrustedFile openInputFile(const std::string& path, const std::string& key, bool readable);

} // namespace rotator::config
