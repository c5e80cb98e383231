#pragma once

#include "rotator/config/Settings.h"
#include "rotator/core/Secret.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::Util
{
class AbstractConfiguration;
}

namespace rotator::config
{

/// Reads the sections `astra`, `state`, `scheduler`, `admin`, `log`, `credentials.<name>` and
/// `sinks.<name>` of `cfg` into typed, validated settings (PRODUCT.md §4).
///
/// Every other top-level section (`application.*`, `system.*`, ... of a Poco `Application`) is
/// ignored, except one whose name is a near miss of ours (`credential`, `sink`): that is a typo
/// and an error. Unknown keys under our sections are errors with a "did you mean" suggestion.
/// Empty values mean "not set". Non-fatal findings go to `Settings::warnings`.
/// Touches no file. Throws core::ConfigError naming the key.
Settings loadSettings(const Poco::Util::AbstractConfiguration& cfg);

/// Loads `path` with Poco's configuration class for its extension (`.properties`, `.ini`,
/// `.xml`, `.json`) and then behaves as `loadSettings`, except that every top-level section of
/// the file must be one of ours. An unreadable file or a syntax error throws core::ConfigError
/// with an empty key and a message naming the path, and so does a file that anyone but root or
/// the rotator's user could change (`openInputFile`: the file and every directory above it).
Settings loadSettingsFile(const std::string& path);

/// Reads a token file (the admin token, the admin API bearer token) the way ssh reads a key:
/// `path` must be a regular file after following symlinks (Kubernetes secret volumes are
/// symlinks, each in a trusted directory), must not be accessible by others nor writable by its
/// group, must belong to root or the rotator's user, and every directory on its way must be
/// trusted as `os::openTrustedFile` requires (ConfigError naming `key`, the path, the owner or
/// mode and the fix), holds one token surrounded by optional whitespace,
/// and is not empty. A group-readable file adds a warning. No message ever carries the content.
core::Secret readTokenFile(const std::string& path, const std::string& key,
                           std::vector<std::string>& warnings);

/// The token the rotator calls the DevOps API with: `astra.tokenFile` when set (see
/// `readTokenFile`), else the environment variable `ASTRA_TOKEN` (read through `getenv`, so that
/// tests need not touch the real environment), else ConfigError("astra.tokenFile", ...).
core::Secret loadAdminToken(const Settings& settings,
                            const std::function<const char*(const char*)>& getenv,
                            std::vector<std::string>& warnings);

// Building blocks of the loader, public for tests and for the modules that read the same
// notations. Each throws core::ConfigError naming `key`.

/// Parses a UTC rotation window: `[DAYS] HH:MM-HH:MM` where DAYS is `daily` or a comma list of
/// days and day ranges (`Mon-Fri`, `Sat,Sun`, `Mon,Wed-Fri`, `Fri-Mon` wraps). Without DAYS the
/// window is daily. `22:00-02:00` crosses midnight (endMinute < startMinute), `22:00-00:00`
/// is stored as ending at 24:00. An empty window (`02:00-02:00`) is an error.
Window parseWindow(const std::string& text, const std::string& key);

/// Splits a command line into argv without a shell: whitespace separates words, `'single'`
/// quotes are literal, `"double"` quotes honour `\"`, `\\`, `\$` and `` \` ``, and outside
/// quotes a backslash escapes any character. Unbalanced quotes and a trailing backslash are
/// errors. Shell operators (`|`, `>`, `&&`, ...) are ordinary words.
std::vector<std::string> splitArgv(const std::string& command, const std::string& key);

/// A listening address: `host` without brackets.
struct ListenAddress
{
    std::string host;
    std::uint16_t port = 0;
};

/// Parses `HOST:PORT` or `[IPV6]:PORT` (port 0..65535; 0 means any free port).
ListenAddress parseListenAddress(const std::string& text, const std::string& key);

/// True for `localhost`, 127.0.0.0/8, `::1` and `::ffff:127.0.0.0/104`, with or without the
/// brackets of a URL host. Pure string check: no name resolution.
bool isLoopbackHost(const std::string& host);

/// The host part of an HTTP `Host` value, normalized (lower case, IPv6 in brackets, no
/// trailing dot, no port); nullopt when the value is not `host` or `host:port`. The admin API's
/// Host check and the check of `admin.allowedHosts` both use it, so a listed name always counts.
std::optional<std::string> hostOfHostValue(std::string_view value);

} // namespace rotator::config
