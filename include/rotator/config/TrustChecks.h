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
///   file. A directory that does not exist yet cannot be resolved: then the normalised paths
///   (compared by the loader already) are all there is, and delivery fails until it exists.
///
/// Throws core::ConfigError naming the key, the file, its owner and mode, and the fix.
/// Reads no file's content. Thread-safe.
void checkTrustedInputs(const Settings& settings);

/// Opens an input file (the configuration, a CA or token file) with `os::openTrustedInput`
/// and returns it, or throws core::ConfigError naming `key` (empty for the configuration
/// file, whose message names "--config") with the reason and the fix.
os::TrustedFile openInputFile(const std::string& path, const std::string& key, bool readable);

} // namespace rotator::config
