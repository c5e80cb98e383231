#pragma once

#include <memory>
#include <string>

#include "rotator/config/Settings.h"
#include "rotator/core/Outcome.h"
#include "rotator/sink/Credential.h"

namespace rotator::sink
{

/// A destination a credential is delivered to. deliver() is idempotent: delivering the same
/// credential twice is a no-op the second time (file) or a re-run (exec).
///
/// Implementations own their settings and nothing else; they keep no state between calls, so
/// distinct sinks may deliver concurrently from different threads. Failures are values:
/// `Permanent` when a person must fix something (configuration, permissions, a planted
/// symlink), `Transient` when a later attempt may pass (no space, I/O error, timeout, a
/// non-zero exit). A failure's message names the sink and says what to fix; it never carries
/// the secret or the token.
class SecretSink
{
public:
    virtual ~SecretSink() = default;
    /// The `sinks.<name>` key.
    virtual const std::string& name() const = 0;
    /// One line for people: "file /etc/billing/astra.json (json, 0600)" or
    /// "exec /usr/local/bin/push --target prod (timeout 30s)".
    virtual std::string describe() const = 0;
    virtual core::Outcome<void> deliver(const Credential& credential) = 0;
    /// For `plan` (a dry run): would a delivery be possible now? Changes nothing anywhere
    /// (file: the directory exists, is writable by us, is on the same filesystem, target is not
    /// a symlink/directory, owner/group resolvable; exec: argv[0] exists and is executable).
    virtual core::Outcome<void> check() const = 0;
};

} // namespace rotator::sink
