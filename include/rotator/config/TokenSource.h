#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::config
{

/// The current value of a token the rotator reads from a file that others may replace while it
/// runs: `astra.tokenFile` (the admin token) or `admin.tokenFile` (the admin API's bearer).
///
/// `current()` stats the path (following links, so a Kubernetes `..data` symlink swap counts)
/// and re-reads it with `readTokenFile`, checks included, only when the resolved file's device,
/// inode, modification or change time or size differ from the last look. A replacement that
/// fails the checks, is empty or cannot be read keeps the token in use and logs one warning
/// naming the key and the reason, never the content; the next change is read again.
/// `reread()` reads the file whatever its stat says (after the API refused the token).
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

    /// The token to send (or compare) now, re-read first if the file changed.
    core::Secret current();
    /// Reads the file again even if its stat is unchanged. True when it now holds another
    /// (valid) token, which `current()` returns from then on; false for a fixed token.
    bool reread();
    /// Uses `token` from now on, and goes on following the file from its present state (the
    /// rotator wrote `token` there, or found the file's token refused and `token` in a pending
    /// file after a crash). A fixed source adopts it too.
    void adopt(core::Secret token);
    /// False for a fixed token.
    bool followsFile() const { return !_path.empty(); }

private:
    /// What stat says of the resolved file; `error` is the errno of a failed stat.
    using Stamp = std::tuple<dev_t, ino_t, long, long, long, long, off_t, int>;
    static Stamp stampOf(const std::string& path);
    /// Reads the file under the lock; true when the token changed.
    bool readLocked();
    /// Marks the pages of the token in use MADV_DONTDUMP (os/CoreDump).
    void keepOutOfCoreDumps() const noexcept;

    const std::string _path;
    const std::string _key;
    std::mutex _mutex;
    core::Secret _token;
    Stamp _seen{};
    bool _looked = false; ///< `_seen` is meaningful
};

} // namespace rotator::config
