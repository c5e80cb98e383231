#include "rotator/sink/ExecSink.h"

#include <algorithm>
#include <csignal>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include "rotator/core/Duration.h"
#include "rotator/core/Secret.h"
#include "rotator/core/SecretMasker.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"
#include "rotator/os/LineSplitter.h"
#include "rotator/os/ProcessTree.h"
#include "rotator/os/Subprocess.h"
#include "rotator/sink/FileSink.h"

namespace rotator::sink
{

using core::FailureKind;
using os::errnoText;
using Clock = std::chrono::steady_clock;

namespace
{

constexpr std::size_t kCaptureLimit = 64 * 1024; ///< per stream, logged
constexpr std::size_t kLineLimit = 200;          ///< characters per logged line
constexpr std::size_t kDrainLimit = 1024 * 1024; ///< read after exit, per stream
constexpr const char* kMayHaveInstalled = "; the hook may have installed the credential";

/// The delivered secret and the secret part of its token, in every disguise SecretMasker
/// knows; the token's `AstraCS:<clientId>:` prefix alone stays readable.
void addCredential(core::SecretMasker& masker, const Credential& credential)
{
    masker.addSecret(credential.secret.reveal());
    const std::string& token = credential.token.reveal();
    const auto hashStart = token.rfind(':');
    if (hashStart == std::string::npos)
    {
        masker.addSecret(token);
        return;
    }
    masker.addSecretWithPublicPrefix(std::string_view(token).substr(0, hashStart + 1),
                                     std::string_view(token).substr(hashStart + 1));
}

/// Logs one output stream of the command line by line, cleaned and capped. Keeps the raw
/// prefix of the last non-empty line for the failure message (wiped at the end), which is
/// cleaned only when asked for: a line that is not logged is never cleaned.
class StreamLog
{
public:
    StreamLog(const std::string& sinkName, const char* label, int priority,
              const core::SecretMasker& masker)
        : _prefix("exec sink " + sinkName + ": " + label + ": "), _priority(priority),
          _logged(priority != 0 && Poco::Logger::get("sink").is(priority)), _masker(masker),
          _lines(kLineLimit + masker.longest(),
                 [this](const os::LineSplitter::Line& line) { take(line); })
    {
        // Sized once, so assigning a line never leaves a copy in freed memory.
        _last.reserve(kLineLimit + masker.longest());
    }
    StreamLog(const StreamLog&) = delete;
    StreamLog& operator=(const StreamLog&) = delete;
    ~StreamLog() { core::secureWipe(_last); }

    void feed(std::string_view chunk) { _lines.feed(chunk); }
    /// Ends a last line that had no newline.
    void finish() { _lines.finish(); }

    /// The last non-empty line, cleaned; empty when there was none.
    std::string lastLine() const { return _lastLength == 0 ? "" : render(_last, _lastLength); }

private:
    std::string render(std::string_view raw, std::size_t length) const
    {
        return _masker.clean(raw, kLineLimit) + (length > kLineLimit ? "..." : "");
    }

    void take(const os::LineSplitter::Line& line)
    {
        if (line.length == 0)
        {
            return;
        }
        if (_logged)
        {
            logLine(line);
        }
        core::secureWipe(_last);
        _last.assign(line.text);
        _lastLength = line.length;
    }

    void logLine(const os::LineSplitter::Line& line)
    {
        if (line.offset < kCaptureLimit)
        {
            log(render(line.text, line.length));
        }
        else if (!_truncationLogged)
        {
            _truncationLogged = true;
            log("(more output not logged: the first 64 KiB were)");
        }
    }

    void log(const std::string& text) const
    {
        Poco::Logger::get("sink").log(
            Poco::Message("sink", _prefix + text, static_cast<Poco::Message::Priority>(_priority)));
    }

    std::string _prefix;
    int _priority; ///< a Poco::Message::Priority, 0: not logged
    bool _logged;  ///< the "sink" logger passes `_priority` (checked once per delivery)
    const core::SecretMasker& _masker;
    bool _truncationLogged = false;
    std::string _last;
    std::size_t _lastLength = 0;
    os::LineSplitter _lines; ///< last: its handler uses the members above
};

/// The log priorities of stdout and stderr for `sinks.<name>.logOutput` (0: not logged).
std::pair<int, int> outputPriorities(config::HookOutputLog setting)
{
    switch (setting)
    {
    case config::HookOutputLog::Information:
        return {Poco::Message::PRIO_INFORMATION, Poco::Message::PRIO_WARNING};
    case config::HookOutputLog::None:
        return {0, 0};
    case config::HookOutputLog::Debug:
        break;
    }
    return {Poco::Message::PRIO_DEBUG, Poco::Message::PRIO_DEBUG};
}

std::string signalName(int signal)
{
    const char* abbrev = ::sigabbrev_np(signal);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "unknown signal";
}

/// A start that failed: nothing ran, so the failure is clean (never "may hold").
tl::unexpected<core::Failure> spawnFailure(const std::string& prefix, const std::string& program,
                                           const os::SpawnError& error)
{
    if (error.step == os::SpawnError::Step::CreatingPipes)
    {
        return core::fail(FailureKind::Transient,
                          prefix + "cannot create pipes: " + errnoText(error.error));
    }
    std::string hint;
    FailureKind kind = FailureKind::Permanent;
    switch (error.error)
    {
    case ENOENT:
        hint = " (for a script, check the interpreter on its #! line)";
        break;
    case EACCES:
        hint = " (make it executable, and its directories searchable)";
        break;
    case ENOEXEC:
        hint = " (not a known executable format: a script needs a #! line)";
        break;
    default:
        kind = FailureKind::Transient;
    }
    return core::fail(kind,
                      prefix + "cannot run " + program + ": " + errnoText(error.error) + hint);
}

/// The default ExecSink::AccountLookup: the user database, through NSS.
core::Outcome<os::FileOwner> lookUpAccount(const std::string& user, const std::string& group)
{
    auto ids = resolveFileOwner(user, group);
    if (!ids || !ids->uid || ids->gid)
    {
        return ids;
    }
    std::vector<char> buffer(16384);
    struct passwd pw = {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(*ids->uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    {
        return core::fail(FailureKind::Permanent,
                          "uid " + std::to_string(*ids->uid) +
                              " has no account, so no primary group: set the group too");
    }
    ids->gid = pw.pw_gid;
    return ids;
}

/// The ids `sinks.<name>.user` and `.group` name (none when both are empty), looked up once
/// through `lookup`. Changing ids needs root; a user without a group runs with its primary
/// group.
core::Outcome<os::FileOwner> runAsIds(const config::SinkSettings& settings,
                                      const ExecSink::AccountLookup& lookup)
{
    if (settings.user.empty() && settings.group.empty())
    {
        return os::FileOwner{};
    }
    const std::string keys = "sinks." + settings.name + ".user/.group";
    if (::geteuid() != 0)
    {
        return core::fail(FailureKind::Permanent,
                          keys + " need the rotator to run as root (it runs as uid " +
                              std::to_string(::geteuid()) +
                              "); remove them, and the hook runs as the rotator's user");
    }
    auto ids = lookup ? lookup(settings.user, settings.group)
                      : lookUpAccount(settings.user, settings.group);
    if (!ids)
    {
        return core::fail(ids.error().kind, keys + ": " + ids.error().message);
    }
    // A lookup must give the command ids to run with: unset ones would leave it ours (root).
    if ((!settings.user.empty() && !ids->uid) || !ids->gid)
    {
        return core::fail(FailureKind::Permanent, keys + ": the user database gave no ids");
    }
    return ids;
}

/// Says once per process when this kernel cannot kill what hooks leave running.
void warnIfLeftoversSurvive()
{
    static std::once_flag once;
    std::call_once(once,
                   []
                   {
                       if (!os::canKillDescendants())
                       {
                           Poco::Logger::get("sink").warning(
                               "this kernel has no pidfd_open (Linux 5.3 or newer has): processes "
                               "a hook leaves running are not killed");
                       }
                   });
}

} // namespace

ExecSink::ExecSink(config::SinkSettings settings) : _settings(std::move(settings)) {}

std::string ExecSink::describe() const
{
    std::string out = "exec";
    for (const auto& word : _settings.command)
    {
        out += " " + word;
    }
    return out + " (timeout " + core::formatDuration(_settings.timeoutMs) + ")";
}

core::Outcome<void> ExecSink::check() const
{
    if (auto ids = prepare(); !ids)
    {
        return tl::make_unexpected(std::move(ids.error()));
    }
    return {};
}

core::Outcome<os::FileOwner> ExecSink::prepare() const
{
    const std::string prefix = "exec sink " + _settings.name + ": ";
    const std::string key = "sinks." + _settings.name + ".command";
    if (_settings.command.empty() || _settings.command.front().empty())
    {
        return core::fail(FailureKind::Permanent, prefix + "no command (set " + key + ")");
    }
    const std::string& program = _settings.command.front();
    if (program.front() != '/')
    {
        return core::fail(FailureKind::Permanent, prefix + program + " is not an absolute path (" +
                                                      key +
                                                      " runs without a shell or PATH search)");
    }
    auto ids = runAsIds(_settings, _lookupAccount);
    if (!ids)
    {
        return core::fail(ids.error().kind, prefix + ids.error().message);
    }
    struct stat st = {};
    if (::stat(program.c_str(), &st) != 0)
    {
        const int error = errno;
        if (error == ENOENT || error == ENOTDIR)
        {
            return core::fail(FailureKind::Permanent, prefix + program +
                                                          " does not exist (install it, or fix " +
                                                          key + ")");
        }
        return core::fail(error == EACCES ? FailureKind::Permanent : FailureKind::Transient,
                          prefix + "cannot inspect " + program + ": " + errnoText(error) +
                              (error == EACCES ? " (a directory on its path is not searchable "
                                                 "by the rotator's user)"
                                               : ""));
    }
    if (!S_ISREG(st.st_mode))
    {
        return core::fail(FailureKind::Permanent,
                          prefix + program + " is not a regular file (fix " + key + ")");
    }
    if (::faccessat(AT_FDCWD, program.c_str(), X_OK, AT_EACCESS) != 0)
    {
        return core::fail(FailureKind::Permanent,
                          prefix + program +
                              " is not executable by the rotator's user (chmod +x it, or fix " +
                              key + ")");
    }
    return ids;
}

core::Outcome<void> ExecSink::deliver(const Credential& credential)
{
    // The ids are looked up once, here: the command runs with exactly these, or not at all.
    const auto ids = prepare();
    if (!ids)
    {
        return tl::make_unexpected(ids.error());
    }
    const std::string prefix = "exec sink " + _settings.name + ": ";
    const std::string& program = _settings.command.front();

    os::SpawnOptions options;
    options.argv = _settings.command;
    options.env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                   "ASTRA_ROTATOR_CREDENTIAL=" + credential.credential,
                   "ASTRA_CLIENT_ID=" + credential.clientId};
    options.ownProcessGroup = true;
    warnIfLeftoversSurvive();
    options.uid = ids->uid;
    options.gid = ids->gid;
    auto child = os::Subprocess::spawn(options);
    if (!child)
    {
        return spawnFailure(prefix, program, child.error());
    }
    Poco::Logger::get("sink").debug(prefix + "started " + program + " (pid " +
                                    std::to_string(child->pid()) + ") for clientId " +
                                    credential.clientId);

    core::SecretMasker masker;
    addCredential(masker, credential);
    const auto [outPriority, errPriority] = outputPriorities(_settings.logOutput);
    StreamLog outLog(_settings.name, "stdout", outPriority, masker);
    StreamLog errLog(_settings.name, "stderr", errPriority, masker);
    // Held as a Secret so the rendered bytes are wiped when this call ends.
    const core::Secret payload(renderJson(credential));
    child->setInput(payload.reveal());
    child->setOutputHandlers([&outLog](std::string_view chunk) { outLog.feed(chunk); },
                             [&errLog](std::string_view chunk) { errLog.feed(chunk); });

    const bool exited =
        child->communicate(Clock::now() + std::chrono::milliseconds(_settings.timeoutMs));
    // Exited (or timed out) before taking all its input.
    const bool inputRefused = !child->closeInput();
    if (!exited)
    {
        // The whole group: a shell's children would otherwise outlive it.
        child->signal(SIGTERM);
        child->communicate(Clock::now() + _killGrace);
        child->signal(SIGKILL);
        // And what left the group (setsid) while it is still below the child.
        child->killDescendants();
    }
    // Output written before the exit is still in the pipes; a grandchild may keep them open
    // and writing, so the drain is bounded.
    child->drainOutput(kDrainLimit);
    const auto status = child->reap();
    // Nothing a hook started outlives it: what it left running (a setsid or double-forked
    // process) has reparented to us, the subreaper, by now.
    if (const std::size_t killed = child->killDescendants(); killed > 0)
    {
        Poco::Logger::get("sink").warning(prefix + "killed " + std::to_string(killed) +
                                          " process(es) " + program + " left running");
    }
    outLog.finish();
    errLog.finish();

    // From here on the command has run with the credential on its stdin. Only its own non-zero
    // exit says "not installed"; a timeout, a signal or a lost status leaves it unknown. Whether
    // it read stdin cannot be told reliably (the input fits in the pipe, so our write completes
    // either way, and a descendant outside the killed group may still read it), so every such
    // end counts as "may hold": the engine then only rolls forward.
    if (!exited)
    {
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix + "timed out after " +
                                       core::formatDuration(_settings.timeoutMs) +
                                       " (process group killed)" + kMayHaveInstalled);
    }
    const std::string lastError =
        _settings.logOutput == config::HookOutputLog::None ? "" : errLog.lastLine();
    const std::string tail = lastError.empty() ? "" : "; last line of stderr: " + lastError;
    if (!status)
    {
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix + program + " ended but its exit status was lost" +
                                       kMayHaveInstalled + tail);
    }
    if (status->ok())
    {
        Poco::Logger& logger = Poco::Logger::get("sink");
        if (inputRefused)
        {
            logger.warning(prefix + program + " exited 0 without reading all of its input");
        }
        logger.information(prefix + "delivered clientId " + credential.clientId + " via " +
                           program + " (exit 0)");
        return {};
    }
    if (status->signalled)
    {
        const int signal = status->signal;
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix + program + " was killed by signal " +
                                       std::to_string(signal) + " (" + signalName(signal) + ")" +
                                       kMayHaveInstalled + tail);
    }
    return core::fail(FailureKind::Transient, prefix + program + " exited with status " +
                                                  std::to_string(status->code) + tail);
}

} // namespace rotator::sink
