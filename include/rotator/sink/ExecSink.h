#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "rotator/config/Settings.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::sink
{

/// Delivers a credential by running a command (`type = exec`) with the json form on stdin.
///
/// The command runs from its argv (no shell, argv[0] absolute) in its own process group, with
/// exactly `PATH=/usr/local/bin:/usr/bin:/bin`, `ASTRA_ROTATOR_CREDENTIAL` and
/// `ASTRA_CLIENT_ID` in its environment (never the secret, never ours: the daemon may hold
/// ASTRA_TOKEN), every other descriptor closed, and stdin, stdout and stderr on pipes that are
/// served with poll(), so a command that writes a lot, or never reads, cannot block us.
/// Its output is logged line by line (logger `sink`; `logOutput`: at debug by default, stdout
/// as information and stderr as warning with `information`, not at all with `none`), at most
/// 64 KiB per stream and 200 characters per line, with the secret and the token masked even
/// when the command echoes its input, raw, JSON-escaped, base64- or percent-encoded, or any
/// piece of 16 characters of those (core::SecretMasker). Exit 0 within the timeout means
/// delivered. On timeout the whole process group gets SIGTERM, then SIGKILL after a grace, and
/// the child is always reaped.
///
/// With `user` and/or `group` (only when the rotator runs as root) the command runs with that
/// uid and that gid as its only group (a user alone: its primary group). They are looked up
/// once per delivery, and a failed lookup fails the delivery: the command never runs with the
/// rotator's own ids instead.
///
/// Failures: `Permanent` when the program is missing, not executable or not runnable;
/// `Transient` for a timeout, a non-zero exit or death by a signal (naming the status and the
/// last line of stderr), or a failure to start it for lack of resources. A non-zero exit is
/// the hook's own "not installed"; a timeout, a death by a signal or a lost exit status, after
/// the command started with the credential on its stdin, is `ambiguous` ("may hold"). Stateless
/// between calls: several deliveries may run at once.
class ExecSink final : public SecretSink
{
public:
    explicit ExecSink(config::SinkSettings settings);

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const Credential& credential) override;
    core::Outcome<void> check() const override;

    /// Time between SIGTERM and SIGKILL after a timeout (default 2 s).
    void setKillGrace(std::chrono::milliseconds grace) { _killGrace = grace; }

    /// Resolves `user` and `group` (names or numeric ids; empty: unset) to the ids the command
    /// runs with, a user alone with its primary group. Failures name what was not found.
    using AccountLookup = std::function<core::Outcome<os::FileOwner>(const std::string& user,
                                                                     const std::string& group)>;
    /// Replaces the user database lookup (the default is getpwnam_r and friends): tests use it
    /// to make the user database fail between two lookups.
    void setAccountLookup(AccountLookup lookup) { _lookupAccount = std::move(lookup); }

private:
    /// What `check` checks, and the ids the command is to run with (both unset: ours).
    core::Outcome<os::FileOwner> prepare() const;

    config::SinkSettings _settings;
    std::chrono::milliseconds _killGrace{2000};
    AccountLookup _lookupAccount;
};

} // namespace rotator::sink
