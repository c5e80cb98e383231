#pragma once

#include <string>

#include "rotator/config/Settings.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::sink
{

/// Delivers a credential into one file on this machine (`type = file`).
///
/// Owns its settings. Renders the configured format (json, env, token), resolves the owner
/// and group and `trustDirOwner` (names through getpwnam_r/getgrnam_r, or numeric ids) at
/// every delivery so that accounts created later are found, and replaces the file with
/// `writeFileAtomically`, whose directory checks trust `trustDirOwner` besides root and us:
/// identical content is not rewritten. Logs "wrote" or "unchanged" (logger `sink`) with the
/// path and the clientId, never the content. Stateless between calls: thread-safe.
/// Failures are those of `writeFileAtomically` prefixed with "file sink <name>: ", plus a
/// `Permanent` failure for an unknown user or group naming the key.
class FileSink final : public SecretSink
{
public:
    explicit FileSink(config::SinkSettings settings);

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const Credential& credential) override;
    core::Outcome<void> check() const override;

    /// The bytes this sink writes for `credential` (they contain the secret).
    std::string render(const Credential& credential) const;

private:
    /// The owner, group and trusted directory owner, resolved now.
    core::Outcome<os::WriteOptions> writeOptions() const;

    config::SinkSettings _settings;
};

/// Resolves a user (`owner`) and a group (`group`), each a name or a numeric id; an empty
/// string leaves that id unset. An unknown name is a `Permanent` failure naming it; a failing
/// user database (NSS, LDAP) is `Transient`.
core::Outcome<os::FileOwner> resolveFileOwner(const std::string& owner, const std::string& group);

/// `settings` with the owner, group and mode the file at `settings.path` has now (as given when
/// it does not exist), so that a file someone else set up keeps them when it is replaced: the
/// admin token file's delivery and check-config's check of it use the same.
config::SinkSettings asTheFileIsNow(config::SinkSettings settings);

} // namespace rotator::sink
