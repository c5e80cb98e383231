#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::config
{

/// The current value of a token the rotator reads from a file that others may replace while it
/// runs: `astra.tokenFile` (the admin token) or `admin.tokenFile` (the admin API's bearer).
///
/// Each look (`current()`, `clientId()`, `matches()`) stats the path (following links, so a
/// Kubernetes `..data` symlink swap counts) and re-reads it with `readTokenFile`, checks
/// included, only when the resolved file's device, inode, modification or change time or size
/// differ from the last look. A replacement that fails the checks, is empty or cannot be read
/// keeps the token in use and logs one warning naming the key and the reason, never the
/// content; the next change is read again.
/// `replacementFor()` reads the file whatever its stat says (after the API refused a token).
/// A source built from a fixed token (ASTRA_TOKEN, tests) never changes. Thread-safe: workers
/// and admin handlers call it concurrently; a look holds a mutex for one stat (and a read when
/// the file changed).
class TokenSource
{
public:
    /// A token that never changes.
    explicit TokenSource(core::Secret fixed);
    /// Follows `path`, reported under `key`. `initial` is the token read from it at start-up;
    /// the first look reads the file again, so a change between that read and now is not
    /// missed.
    TokenSource(std::string path, std::string key, core::Secret initial);
    TokenSource(const TokenSource&) = delete;
    TokenSource& operator=(const TokenSource&) = delete;

    /// Reads `path` now (core::ConfigError as `readTokenFile`, warnings appended) and follows it.
    static std::shared_ptr<TokenSource> follow(const std::string& path, const std::string& key,
                                               std::vector<std::string>& warnings);

    /// The token to send now, re-read first if the file changed.
    core::Secret current();
    /// The client ID of the token in use (`core::clientIdOfToken`; empty when it has none),
    /// kept with the token rather than parsed at each call.
    std::string clientId();
    /// Whether `candidate` is the token in use, compared in constant time without a copy.
    bool matches(std::string_view candidate);
    /// After the API refused `refused`: reads the file again even if its stat is unchanged and
    /// returns the token in use when it is another one (read now, or picked up by another
    /// thread's look since `refused` was taken), else nothing; nothing for a fixed token.
    std::optional<core::Secret> replacementFor(const core::Secret& refused);
    /// Uses `token` from now on (the rotator wrote it to the file, or found the file's token
    /// refused and `token` in a pending file after a crash), and goes on following the file:
    /// a file changed since the last look is read at the next one, so a replacement written
    /// after the rotator's own write is not missed. A fixed source adopts it too.
    void adopt(core::Secret token);

private:
    /// What stat says of the resolved file; `error` is the errno of a failed stat.
    using Stamp = std::tuple<dev_t, ino_t, long, long, long, long, off_t, int>;
    static Stamp stampOf(const std::string& path);
    /// A look under the lock: reads the file when its stamp changed.
    void lookLocked();
    /// Reads the file under the lock and takes the token it holds if it is valid.
    void readLocked();
    /// Takes `token` as the one in use: its client ID, and its pages kept out of core dumps
    /// (os/CoreDump).
    void use(core::Secret token);

    const std::string _path;
    const std::string _key;
    std::mutex _mutex;
    core::Secret _token;
    std::string _clientId; ///< of `_token`
    Stamp _seen{};
    bool _looked = false; ///< `_seen` is meaningful
};

} // namespace rotator::config
