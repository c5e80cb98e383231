#include "rotator/os/Subprocess.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/core/SecureWipe.h"
#include "rotator/os/ProcessTree.h"
#include "rotator/os/StartChild.h"

namespace rotator::os
{

namespace
{

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;

/// Blocks SIGPIPE in this thread while we write to the child's stdin, so a child that exits
/// without reading cannot kill us even where SIGPIPE is not ignored process-wide (the daemon's
/// main ignores it; tests and other embedders may not). A SIGPIPE raised meanwhile is consumed
/// before the old mask comes back.
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
/// end (possible when we run with a standard descriptor closed).
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
/// them out of children other threads spawn meanwhile). Returns 0 or an errno value.
int makePipe(Pipe& pipe)
{
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    {
        return errno;
    }
    pipe.read.reset(aboveStandard(fds[0]));
    pipe.write.reset(aboveStandard(fds[1]));
    if (!pipe.read.valid() || !pipe.write.valid())
    {
        return errno;
    }
    return 0;
}

void setNonBlocking(int fd)
{
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0)
    {
        ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

/// The pids of every Subprocess not reaped yet, process-wide: killDescendants spares them when
/// it looks for orphans among our children, since several hooks may run at once.
class LiveChildren
{
public:
    static LiveChildren& instance()
    {
        static LiveChildren registry;
        return registry;
    }
    /// Starts a child with `plan` and registers it in one step: a scan for orphans running in
    /// another thread meanwhile (whose `contains` waits) cannot take it for one.
    int start(const ChildPlan& plan, pid_t& pid)
    {
        const std::lock_guard lock(_mutex);
        const int error = startChild(plan, pid);
        if (error == 0)
        {
            _pids.insert(pid);
        }
        return error;
    }
    void remove(pid_t pid)
    {
        const std::lock_guard lock(_mutex);
        _pids.erase(pid);
    }
    bool contains(pid_t pid)
    {
        const std::lock_guard lock(_mutex);
        return _pids.count(pid) != 0;
    }

private:
    std::mutex _mutex;
    std::set<pid_t> _pids;
};

/// The NULL-terminated pointer array exec wants; points into `strings`.
std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings)
    {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

} // namespace

ExitStatus ExitStatus::fromWaitStatus(int status)
{
    ExitStatus s;
    if (WIFEXITED(status))
    {
        s.exited = true;
        s.code = WEXITSTATUS(status);
    }
    else if (WIFSIGNALED(status))
    {
        s.signalled = true;
        s.signal = WTERMSIG(status);
    }
    return s;
}

std::string ExitStatus::describe() const
{
    if (exited)
    {
        return "exit " + std::to_string(code);
    }
    if (signalled)
    {
        return std::string("signal ") + ::strsignal(signal);
    }
    return "still running";
}

tl::expected<Subprocess, SpawnError> Subprocess::spawn(const SpawnOptions& options)
{
    if (options.argv.empty())
    {
        return tl::make_unexpected(SpawnError{SpawnError::Step::Spawning, EINVAL});
    }
    // Everything the child needs is built before the spawn.
    std::vector<std::string> args = options.argv;
    std::vector<std::string> env = options.env;
    const auto argv = pointers(args);
    const auto envp = pointers(env);

    const std::array<const std::string*, 3> paths = {&options.stdinPath, &options.stdoutPath,
                                                     &options.stderrPath};
    std::array<Pipe, 3> pipes;
    for (std::size_t i = 0; i < pipes.size(); ++i)
    {
        if (paths[i]->empty())
        {
            if (const int error = makePipe(pipes[i]); error != 0)
            {
                return tl::make_unexpected(SpawnError{SpawnError::Step::CreatingPipes, error});
            }
        }
    }

    // A stream from a file is opened here, above 2 like the pipe ends, and handed over the same
    // way.
    std::array<UniqueFd, 3> files;
    ChildPlan plan;
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.ownProcessGroup = options.ownProcessGroup;
    plan.uid = options.uid;
    plan.gid = options.gid;
    for (std::size_t i = 0; i < pipes.size(); ++i)
    {
        if (!paths[i]->empty())
        {
            const int flags = i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_APPEND;
            files[i].reset(aboveStandard(::open(paths[i]->c_str(), flags | O_CLOEXEC, 0600)));
            if (!files[i].valid())
            {
                return tl::make_unexpected(SpawnError{SpawnError::Step::Spawning, errno});
            }
            plan.streams[i] = files[i].get();
        }
        else
        {
            // The child's end: its stdin reads, its stdout and stderr write.
            plan.streams[i] = (i == 0 ? pipes[i].read : pipes[i].write).get();
        }
    }

    Subprocess child;
    child._ownProcessGroup = options.ownProcessGroup;
    if (const int error = LiveChildren::instance().start(plan, child._pid); error != 0)
    {
        child._pid = -1;
        return tl::make_unexpected(SpawnError{SpawnError::Step::Spawning, error});
    }
    // Our ends only: the child holds its own copies, and we must see end of file.
    child._in = std::move(pipes[0].write);
    child._out = std::move(pipes[1].read);
    child._err = std::move(pipes[2].read);
    for (const auto* fd : {&child._in, &child._out, &child._err})
    {
        if (fd->valid())
        {
            setNonBlocking(fd->get());
        }
    }
    if (child._out.valid() || child._err.valid())
    {
        child._buffer.resize(kReadChunk);
    }
    // Wakes poll when the child exits, even if a grandchild keeps the pipes open.
    child._pidFd.reset(static_cast<int>(::syscall(SYS_pidfd_open, child._pid, 0)));
    return child;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : _pid(other._pid), _ownProcessGroup(other._ownProcessGroup), _reaped(other._reaped),
      _pidFd(std::move(other._pidFd)), _in(std::move(other._in)), _out(std::move(other._out)),
      _err(std::move(other._err)), _input(other._input), _written(other._written),
      _onStdout(std::move(other._onStdout)), _onStderr(std::move(other._onStderr)),
      _buffer(std::move(other._buffer))
{
    other._pid = -1;
}

Subprocess::~Subprocess()
{
    if (_pid > 0 && !_reaped)
    {
        // Left early (a deadline, an exception): the whole group, so nothing keeps running.
        ::kill(_ownProcessGroup ? -_pid : _pid, SIGKILL);
        killDescendants();
        reap();
        killDescendants();
    }
    core::secureWipe(_buffer.data(), _buffer.size());
}

void Subprocess::setInput(std::string_view input)
{
    _input = input;
    _written = 0;
}

void Subprocess::setOutputHandlers(OutputHandler onStdout, OutputHandler onStderr)
{
    _onStdout = std::move(onStdout);
    _onStderr = std::move(onStderr);
}

bool Subprocess::hasExited()
{
    if (_reaped)
    {
        return true;
    }
    // WNOWAIT: the child stays a zombie, so its pid (and group id) cannot be reused while we
    // may still signal it.
    siginfo_t info{};
    const int rc = ::waitid(P_PID, static_cast<id_t>(_pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc != 0)
    {
        // ECHILD: somebody reaped it (SIGCHLD ignored?): it is gone either way.
        return errno != EINTR;
    }
    return info.si_pid == _pid;
}

void Subprocess::signal(int signal)
{
    if (_pid > 0 && !_reaped)
    {
        ::kill(_ownProcessGroup ? -_pid : _pid, signal);
    }
}

std::size_t Subprocess::killDescendants()
{
    if (_pid <= 0)
    {
        return 0;
    }
    return os::killDescendants(_reaped ? -1 : _pid,
                               [](pid_t pid) { return LiveChildren::instance().contains(pid); });
}

std::optional<ExitStatus> Subprocess::reap()
{
    if (_pid <= 0 || _reaped)
    {
        return std::nullopt;
    }
    int status = 0;
    pid_t rc = 0;
    do
    {
        rc = ::waitpid(_pid, &status, 0);
    } while (rc < 0 && errno == EINTR);
    _reaped = true;
    LiveChildren::instance().remove(_pid);
    return rc > 0 ? std::optional<ExitStatus>(ExitStatus::fromWaitStatus(status)) : std::nullopt;
}

void Subprocess::writeSome()
{
    const std::size_t left = _input.size() - _written;
    const ssize_t n = ::write(_in.get(), _input.data() + _written, std::min(left, kReadChunk));
    if (n > 0)
    {
        _written += static_cast<std::size_t>(n);
        if (_written == _input.size())
        {
            _in.reset(); // end of file for the child
        }
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
    {
        return;
    }
    // EPIPE (the child closed stdin or exited) or another error: stop feeding it.
    _in.reset();
}

void Subprocess::readSome(UniqueFd& fd, const OutputHandler& handler, std::size_t limit)
{
    std::size_t total = 0;
    while (fd.valid() && total < limit)
    {
        const ssize_t n = ::read(fd.get(), _buffer.data(), _buffer.size());
        if (n > 0)
        {
            if (handler)
            {
                handler(std::string_view(_buffer.data(), static_cast<std::size_t>(n)));
            }
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

bool Subprocess::communicate(Clock::time_point deadline)
{
    if (_in.valid() && _written == _input.size())
    {
        _in.reset(); // nothing (more) to give it
    }
    std::optional<SigpipeBlocker> noSigpipe;
    if (_in.valid())
    {
        noSigpipe.emplace();
    }
    for (;;)
    {
        if (hasExited())
        {
            return true;
        }
        const auto now = Clock::now();
        if (now >= deadline)
        {
            return false;
        }
        auto waitMs = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        if (!_pidFd.valid())
        {
            // Without a pidfd nothing wakes us when the child exits: look again soon.
            waitMs = std::min<decltype(waitMs)>(waitMs, 20);
        }
        std::array<pollfd, 4> fds{};
        nfds_t count = 0;
        int inIndex = -1;
        int outIndex = -1;
        int errIndex = -1;
        if (_in.valid())
        {
            inIndex = static_cast<int>(count);
            fds[count++] = {_in.get(), POLLOUT, 0};
        }
        if (_out.valid())
        {
            outIndex = static_cast<int>(count);
            fds[count++] = {_out.get(), POLLIN, 0};
        }
        if (_err.valid())
        {
            errIndex = static_cast<int>(count);
            fds[count++] = {_err.get(), POLLIN, 0};
        }
        if (_pidFd.valid())
        {
            fds[count++] = {_pidFd.get(), POLLIN, 0};
        }
        if (::poll(fds.data(), count, static_cast<int>(waitMs)) <= 0)
        {
            continue; // timeout, EINTR: the checks at the top decide
        }
        const auto ready = [&](int index, short events)
        { return index >= 0 && (fds[static_cast<std::size_t>(index)].revents & events) != 0; };
        if (ready(inIndex, POLLOUT | POLLERR | POLLHUP | POLLNVAL))
        {
            writeSome();
        }
        if (ready(outIndex, POLLIN | POLLERR | POLLHUP | POLLNVAL))
        {
            readSome(_out, _onStdout, kReadChunk);
        }
        if (ready(errIndex, POLLIN | POLLERR | POLLHUP | POLLNVAL))
        {
            readSome(_err, _onStderr, kReadChunk);
        }
    }
}

bool Subprocess::closeInput()
{
    _in.reset();
    return _written == _input.size();
}

void Subprocess::drainOutput(std::size_t limit)
{
    readSome(_out, _onStdout, limit);
    readSome(_err, _onStderr, limit);
    _out.reset();
    _err.reset();
    core::secureWipe(_buffer.data(), _buffer.size());
}

} // namespace rotator::os
