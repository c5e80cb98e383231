#include "rotator/sink/ExecSink.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include "JsonText.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Redact.h"
#include "rotator/core/Secret.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"
#include "rotator/os/UniqueFd.h"

#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 34)
#error "ExecSink needs glibc 2.34 or newer (posix_spawn_file_actions_addclosefrom_np)"
#endif

namespace rotator::sink
{

using core::FailureKind;
using os::errnoText;
using os::UniqueFd;
using Clock = std::chrono::steady_clock;

namespace
{

constexpr std::size_t kCaptureLimit = 64 * 1024; ///< per stream, logged
constexpr std::size_t kLineLimit = 200;          ///< characters per logged line
constexpr std::size_t kDrainLimit = 1024 * 1024; ///< read after exit, per stream
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr const char* kMayHaveInstalled = "; the hook may have installed the credential";

/// Replaces every occurrence of the delivered secret and token (raw and JSON-escaped) in text
/// the command printed, then applies the generic redaction. Owns copies of the secrets and
/// wipes them.
class Masker
{
public:
    explicit Masker(const Credential& credential)
    {
        add(credential.secret.reveal());
        add(credential.token.reveal());
        for (const auto* secret : {&credential.secret, &credential.token})
        {
            std::string quoted;
            detail::appendJsonString(quoted, secret->reveal());
            add(quoted.substr(1, quoted.size() - 2));
            core::secureWipe(quoted);
        }
    }
    Masker(const Masker&) = delete;
    Masker& operator=(const Masker&) = delete;
    ~Masker()
    {
        for (auto& needle : _needles)
        {
            core::secureWipe(needle);
        }
    }

    std::size_t longest() const
    {
        std::size_t n = 0;
        for (const auto& needle : _needles)
        {
            n = std::max(n, needle.size());
        }
        return n;
    }

    /// The first `keep` bytes of `raw`, with every byte that belongs to an occurrence of a
    /// secret anywhere in `raw` masked (a run as one `***`). Masking by position, before the
    /// cut, is what makes a secret straddling the cut disappear too: `raw` must extend
    /// `longest()` bytes past `keep` when the line does.
    std::string clean(std::string_view raw, std::size_t keep) const
    {
        keep = std::min(keep, raw.size());
        // Do not cut inside a UTF-8 sequence.
        while (keep > 0 && keep < raw.size() &&
               (static_cast<unsigned char>(raw[keep]) & 0xC0U) == 0x80U)
        {
            --keep;
        }
        std::vector<bool> masked(keep, false);
        for (const auto& needle : _needles)
        {
            for (auto pos = raw.find(needle); pos != std::string_view::npos && pos < keep;
                 pos = raw.find(needle, pos + 1))
            {
                std::fill(masked.begin() + static_cast<std::ptrdiff_t>(pos),
                          masked.begin() +
                              static_cast<std::ptrdiff_t>(std::min(pos + needle.size(), keep)),
                          true);
            }
        }
        std::string out;
        out.reserve(keep);
        for (std::size_t i = 0; i < keep; ++i)
        {
            if (masked[i])
            {
                if (i == 0 || !masked[i - 1])
                {
                    out += "***";
                }
                continue;
            }
            const auto c = static_cast<unsigned char>(raw[i]);
            out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : raw[i];
        }
        return core::redactSecrets(out);
    }

private:
    void add(std::string value)
    {
        if (!value.empty() && std::find(_needles.begin(), _needles.end(), value) == _needles.end())
        {
            _needles.push_back(std::move(value));
        }
        else
        {
            core::secureWipe(value);
        }
    }

    std::vector<std::string> _needles;
};

/// Splits one output stream of the command into lines and logs them, cleaned and capped.
/// Keeps the raw prefix of the current and of the last non-empty line (wiped at the end).
class StreamLog
{
public:
    StreamLog(const std::string& sinkName, const char* label, bool warning, const Masker& masker)
        : _prefix("exec sink " + sinkName + ": " + label + ": "), _warning(warning),
          _masker(masker), _keep(kLineLimit + masker.longest())
    {
    }
    StreamLog(const StreamLog&) = delete;
    StreamLog& operator=(const StreamLog&) = delete;
    ~StreamLog()
    {
        core::secureWipe(_line);
        core::secureWipe(_last);
    }

    void feed(const char* data, std::size_t size)
    {
        for (std::size_t i = 0; i < size; ++i)
        {
            ++_total;
            if (data[i] == '\n')
            {
                endLine();
                continue;
            }
            if (_line.size() < _keep)
            {
                _line += data[i];
            }
            ++_lineLength;
        }
    }

    /// Ends a last line that had no newline.
    void finish()
    {
        if (_lineLength > 0)
        {
            endLine();
        }
    }

    /// The last non-empty line, cleaned; empty when there was none.
    std::string lastLine() const { return _lastLength == 0 ? "" : render(_last, _lastLength); }

private:
    std::string render(const std::string& raw, std::size_t length) const
    {
        return _masker.clean(raw, kLineLimit) + (length > kLineLimit ? "..." : "");
    }

    void endLine()
    {
        if (_lineLength == _line.size() && !_line.empty() && _line.back() == '\r')
        {
            _line.pop_back();
            --_lineLength;
        }
        if (_lineLength > 0)
        {
            if (_lineStart < kCaptureLimit)
            {
                log(render(_line, _lineLength));
            }
            else if (!_truncationLogged)
            {
                _truncationLogged = true;
                log("(more output not logged: the first 64 KiB were)");
            }
            core::secureWipe(_last);
            _last.swap(_line);
            _lastLength = _lineLength;
        }
        core::secureWipe(_line);
        _lineLength = 0;
        _lineStart = _total;
    }

    void log(const std::string& text) const
    {
        Poco::Logger& logger = Poco::Logger::get("sink");
        if (_warning)
        {
            logger.warning(_prefix + text);
        }
        else
        {
            logger.information(_prefix + text);
        }
    }

    std::string _prefix;
    bool _warning;
    const Masker& _masker;
    std::size_t _keep;
    std::string _line;
    std::size_t _lineLength = 0;
    std::size_t _lineStart = 0;
    std::size_t _total = 0;
    bool _truncationLogged = false;
    std::string _last;
    std::size_t _lastLength = 0;
};

/// Blocks SIGPIPE in this thread while we write to the command's stdin, so a command that
/// exits without reading cannot kill us even where SIGPIPE is not ignored process-wide (the
/// daemon's main ignores it; tests and other embedders may not). A SIGPIPE raised meanwhile is
/// consumed before the old mask comes back.
class SigpipeBlocker
{
public:
    SigpipeBlocker()
    {
        sigemptyset(&_set);
        sigaddset(&_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &_set, &_old);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        _wasPending = sigismember(&pending, SIGPIPE) == 1;
    }
    SigpipeBlocker(const SigpipeBlocker&) = delete;
    SigpipeBlocker& operator=(const SigpipeBlocker&) = delete;
    ~SigpipeBlocker()
    {
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        if (!_wasPending && sigismember(&pending, SIGPIPE) == 1)
        {
            const timespec zero{};
            sigtimedwait(&_set, nullptr, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &_old, nullptr);
    }

private:
    sigset_t _set{};
    sigset_t _old{};
    bool _wasPending = false;
};

struct Pipe
{
    UniqueFd read;
    UniqueFd write;
};

/// Moves a descriptor above 0-2 so the child's dup2 onto 0, 1, 2 cannot clobber another pipe
/// end (possible when the daemon runs with a standard descriptor closed).
int aboveStandard(int fd)
{
    if (fd > 2)
    {
        return fd;
    }
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int error = errno;
    ::close(fd);
    errno = error;
    return moved;
}

/// A pipe whose ends are close-on-exec (addclosefrom would close them anyway; this also keeps
/// them out of children other threads spawn meanwhile).
std::optional<Pipe> makePipe(int& error)
{
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    {
        error = errno;
        return std::nullopt;
    }
    Pipe pipe;
    pipe.read.reset(aboveStandard(fds[0]));
    pipe.write.reset(aboveStandard(fds[1]));
    if (!pipe.read.valid() || !pipe.write.valid())
    {
        error = errno;
        return std::nullopt;
    }
    return pipe;
}

void setNonBlocking(int fd)
{
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
    {
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

/// True once the child has exited; it is not reaped, so its pid (and process group id) cannot
/// be reused while we may still signal the group.
bool hasExited(pid_t pid)
{
    siginfo_t info{};
    const int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc != 0)
    {
        // ECHILD: somebody reaped it (SIGCHLD ignored?): it is gone either way.
        return errno != EINTR;
    }
    return info.si_pid == pid;
}

/// Kills the child's whole group and reaps the child when a delivery leaves early, so no
/// path (an exception from a log channel included) leaves a zombie or a running command.
class ChildGuard
{
public:
    explicit ChildGuard(pid_t pid) : _pid(pid) {}
    ChildGuard(const ChildGuard&) = delete;
    ChildGuard& operator=(const ChildGuard&) = delete;
    ~ChildGuard()
    {
        if (_pid > 0)
        {
            ::kill(-_pid, SIGKILL);
            reap();
        }
    }

    /// Waits for the child and returns its wait status, or nullopt if it was lost.
    std::optional<int> reap()
    {
        int status = 0;
        pid_t rc = 0;
        do
        {
            rc = ::waitpid(_pid, &status, 0);
        } while (rc < 0 && errno == EINTR);
        _pid = -1;
        return rc > 0 ? std::optional<int>(status) : std::nullopt;
    }

private:
    pid_t _pid;
};

/// The parent's ends of the three pipes, and what has gone through them.
struct Io
{
    UniqueFd in;
    std::string_view payload;
    std::size_t written = 0;
    bool inputRefused = false; ///< the command closed stdin before reading all of it
    UniqueFd out;
    UniqueFd err;
    StreamLog* outLog = nullptr;
    StreamLog* errLog = nullptr;
    std::vector<char> buffer = std::vector<char>(kReadChunk);
};

void writeSome(Io& io)
{
    const std::size_t left = io.payload.size() - io.written;
    const ssize_t n =
        ::write(io.in.get(), io.payload.data() + io.written, std::min(left, kReadChunk));
    if (n > 0)
    {
        io.written += static_cast<std::size_t>(n);
        if (io.written == io.payload.size())
        {
            io.in.reset(); // EOF for the command
        }
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
    {
        return;
    }
    // EPIPE (the command closed stdin or exited) or another error: stop feeding it.
    io.inputRefused = true;
    io.in.reset();
}

/// Reads what is available (at most `limit` bytes); closes the descriptor at EOF or error.
void readSome(UniqueFd& fd, StreamLog& log, std::vector<char>& buffer, std::size_t limit)
{
    std::size_t total = 0;
    while (fd.valid() && total < limit)
    {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n > 0)
        {
            log.feed(buffer.data(), static_cast<std::size_t>(n));
            total += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n == 0 || errno != EAGAIN)
        {
            fd.reset();
        }
        return;
    }
}

/// Serves the pipes until the child exits (not reaped) or `deadline` passes. Returns true when
/// the child exited.
bool pump(pid_t pid, int pidFd, Io& io, Clock::time_point deadline)
{
    for (;;)
    {
        if (hasExited(pid))
        {
            return true;
        }
        const auto now = Clock::now();
        if (now >= deadline)
        {
            return false;
        }
        auto waitMs = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        if (pidFd < 0)
        {
            // Without a pidfd nothing wakes us when the child exits: look again soon.
            waitMs = std::min<decltype(waitMs)>(waitMs, 20);
        }
        std::array<pollfd, 4> fds{};
        nfds_t count = 0;
        int inIndex = -1;
        int outIndex = -1;
        int errIndex = -1;
        if (io.in.valid())
        {
            inIndex = static_cast<int>(count);
            fds[count++] = {io.in.get(), POLLOUT, 0};
        }
        if (io.out.valid())
        {
            outIndex = static_cast<int>(count);
            fds[count++] = {io.out.get(), POLLIN, 0};
        }
        if (io.err.valid())
        {
            errIndex = static_cast<int>(count);
            fds[count++] = {io.err.get(), POLLIN, 0};
        }
        if (pidFd >= 0)
        {
            fds[count++] = {pidFd, POLLIN, 0};
        }
        if (::poll(fds.data(), count, static_cast<int>(waitMs)) <= 0)
        {
            continue; // timeout, EINTR: the checks at the top decide
        }
        const auto ready = [&](int index, short events)
        { return index >= 0 && (fds[static_cast<std::size_t>(index)].revents & events) != 0; };
        if (ready(inIndex, POLLOUT | POLLERR | POLLHUP | POLLNVAL))
        {
            writeSome(io);
        }
        if (ready(outIndex, POLLIN | POLLERR | POLLHUP | POLLNVAL))
        {
            readSome(io.out, *io.outLog, io.buffer, kReadChunk);
        }
        if (ready(errIndex, POLLIN | POLLERR | POLLHUP | POLLNVAL))
        {
            readSome(io.err, *io.errLog, io.buffer, kReadChunk);
        }
    }
}

std::string signalName(int signal)
{
    const char* abbrev = ::sigabbrev_np(signal);
    return abbrev != nullptr ? std::string("SIG") + abbrev : "unknown signal";
}

/// Frees posix_spawn's attribute and file-action objects.
struct SpawnSetup
{
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attr{};
    SpawnSetup()
    {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup()
    {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

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
    return {};
}

core::Outcome<void> ExecSink::deliver(const Credential& credential)
{
    if (auto ok = check(); !ok)
    {
        return ok;
    }
    const std::string prefix = "exec sink " + _settings.name + ": ";
    const std::string& program = _settings.command.front();

    // Everything the child needs is built before the spawn.
    std::vector<std::string> args = _settings.command;
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                    "ASTRA_ROTATOR_CREDENTIAL=" + credential.credential,
                                    "ASTRA_CLIENT_ID=" + credential.clientId};
    std::vector<char*> argv;
    for (auto& arg : args)
    {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& var : env)
    {
        envp.push_back(var.data());
    }
    envp.push_back(nullptr);

    int error = 0;
    auto in = makePipe(error);
    auto out = in ? makePipe(error) : std::nullopt;
    auto err = out ? makePipe(error) : std::nullopt;
    if (!err)
    {
        return core::fail(FailureKind::Transient,
                          prefix + "cannot create pipes: " + errnoText(error));
    }

    SpawnSetup setup;
    posix_spawn_file_actions_adddup2(&setup.actions, in->read.get(), 0);
    posix_spawn_file_actions_adddup2(&setup.actions, out->write.get(), 1);
    posix_spawn_file_actions_adddup2(&setup.actions, err->write.get(), 2);
    // Nothing of ours beyond the three pipes: not the database, not sockets, not the lock.
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    // Our mask blocks SIGTERM & co. (sigwait in main) and SIGPIPE is ignored: a child would
    // inherit both, so it gets an empty mask and default dispositions.
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &all);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setflags(
        &setup.attr,
        static_cast<short>(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));

    pid_t pid = -1;
    const int spawnError =
        ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
    in->read.reset();
    out->write.reset();
    err->write.reset();
    if (spawnError != 0)
    {
        std::string hint;
        FailureKind kind = FailureKind::Permanent;
        switch (spawnError)
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
                          prefix + "cannot run " + program + ": " + errnoText(spawnError) + hint);
    }
    ChildGuard child(pid);
    Poco::Logger::get("sink").debug(prefix + "started " + program + " (pid " + std::to_string(pid) +
                                    ") for clientId " + credential.clientId);

    const Masker masker(credential);
    StreamLog outLog(_settings.name, "stdout", false, masker);
    StreamLog errLog(_settings.name, "stderr", true, masker);
    // Held as a Secret so the rendered bytes are wiped when this call ends.
    const core::Secret payload(renderJson(credential));
    Io io;
    io.in = std::move(in->write);
    io.out = std::move(out->read);
    io.err = std::move(err->read);
    io.payload = payload.reveal();
    io.outLog = &outLog;
    io.errLog = &errLog;
    for (const auto* fd : {&io.in, &io.out, &io.err})
    {
        setNonBlocking(fd->get());
    }
    // Wakes poll when the child exits, even if a grandchild keeps the pipes open.
    const UniqueFd pidFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    bool exited = false;
    {
        const SigpipeBlocker noSigpipe;
        exited = pump(pid, pidFd.get(), io,
                      Clock::now() + std::chrono::milliseconds(_settings.timeoutMs));
    }
    if (io.in.valid())
    {
        // Exited or timed out before taking all its input.
        io.inputRefused = io.inputRefused || exited;
        io.in.reset();
    }
    if (!exited)
    {
        // The whole group: a shell's children would otherwise outlive it.
        ::kill(-pid, SIGTERM);
        pump(pid, pidFd.get(), io, Clock::now() + _killGrace);
        ::kill(-pid, SIGKILL);
    }
    // Output written before the exit is still in the pipes; a grandchild may keep them open
    // and writing, so the drain is bounded.
    readSome(io.out, outLog, io.buffer, kDrainLimit);
    readSome(io.err, errLog, io.buffer, kDrainLimit);
    io.out.reset();
    io.err.reset();
    core::secureWipe(io.buffer.data(), io.buffer.size());
    const auto status = child.reap();
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
    const std::string lastError = errLog.lastLine();
    const std::string tail = lastError.empty() ? "" : "; last line of stderr: " + lastError;
    if (!status)
    {
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix + program + " ended but its exit status was lost" +
                                       kMayHaveInstalled + tail);
    }
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
    {
        Poco::Logger& logger = Poco::Logger::get("sink");
        if (io.inputRefused)
        {
            logger.warning(prefix + program + " exited 0 without reading all of its input");
        }
        logger.information(prefix + "delivered clientId " + credential.clientId + " via " +
                           program + " (exit 0)");
        return {};
    }
    if (WIFSIGNALED(*status))
    {
        const int signal = WTERMSIG(*status);
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix + program + " was killed by signal " +
                                       std::to_string(signal) + " (" + signalName(signal) + ")" +
                                       kMayHaveInstalled + tail);
    }
    return core::fail(FailureKind::Transient, prefix + program + " exited with status " +
                                                  std::to_string(WEXITSTATUS(*status)) + tail);
}

} // namespace rotator::sink
