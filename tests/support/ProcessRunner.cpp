#include "support/ProcessRunner.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "support/TempDir.h"

namespace rotator::test
{

namespace
{

ExitStatus decode(int status)
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

std::vector<char*> pointers(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    for (auto& s : strings)
    {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

} // namespace

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

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
                           std::string stdoutPath, std::string stderrPath)
    : _stdoutPath(std::move(stdoutPath)), _stderrPath(std::move(stderrPath))
{
    if (argv.empty())
    {
        throw std::runtime_error("ChildProcess: empty argv");
    }
    if (_stdoutPath.empty() || _stderrPath.empty())
    {
        _outputDir = std::make_unique<TempDir>();
        if (_stdoutPath.empty())
        {
            _stdoutPath = _outputDir->file("stdout");
        }
        if (_stderrPath.empty())
        {
            _stderrPath = _outputDir->file("stderr");
        }
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, _stdoutPath.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, _stderrPath.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // The child must not inherit a blocked signal mask or ignored signals from a test thread.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes,
                             static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
    auto args = pointers(argv);
    auto vars = pointers(env);
    const int rc = ::posix_spawn(&_pid, args[0], &actions, &attributes, args.data(), vars.data());
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
    {
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
}

ChildProcess::~ChildProcess()
{
    if (running())
    {
        kill();
    }
}

bool ChildProcess::running()
{
    if (_status)
    {
        return false;
    }
    int status = 0;
    const pid_t waited = ::waitpid(_pid, &status, WNOHANG);
    if (waited == _pid)
    {
        _status = decode(status);
        return false;
    }
    return waited == 0;
}

std::optional<ExitStatus> ChildProcess::waitFor(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running())
    {
        if (std::chrono::steady_clock::now() >= deadline)
        {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return _status;
}

void ChildProcess::signal(int signal)
{
    if (!_status)
    {
        ::kill(_pid, signal);
    }
}

ExitStatus ChildProcess::kill()
{
    if (!_status)
    {
        ::kill(_pid, SIGKILL);
        int status = 0;
        while (::waitpid(_pid, &status, 0) < 0 && errno == EINTR)
        {
        }
        _status = decode(status);
    }
    return *_status;
}

std::string ChildProcess::stdoutText() const
{
    return readFile(_stdoutPath);
}

std::string ChildProcess::stderrText() const
{
    return readFile(_stderrPath);
}

std::string ProcessResult::describe() const
{
    return (status ? status->describe() : std::string("timed out")) + "\n--- stdout\n" + out +
           "--- stderr\n" + err;
}

ProcessResult runProcess(std::vector<std::string> argv, std::vector<std::string> env,
                         std::chrono::milliseconds timeout)
{
    ChildProcess child(std::move(argv), std::move(env));
    ProcessResult result;
    result.status = child.waitFor(timeout);
    if (!result.status)
    {
        child.kill();
    }
    result.out = child.stdoutText();
    result.err = child.stderrText();
    return result;
}

std::vector<std::string> minimalEnvironment()
{
    return {"PATH=/usr/local/bin:/usr/bin:/bin"};
}

} // namespace rotator::test
