#include "support/ProcessRunner.h"

#include <csignal>
#include <cstring>
#include <stdexcept>

#include "support/TempDir.h"

namespace rotator::test
{

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
    os::SpawnOptions options;
    options.argv = std::move(argv);
    options.env = std::move(env);
    options.stdinPath = "/dev/null";
    options.stdoutPath = _stdoutPath;
    options.stderrPath = _stderrPath;
    auto process = os::Subprocess::spawn(options);
    if (!process)
    {
        throw std::runtime_error("cannot start " + options.argv[0] + ": " +
                                 std::strerror(process.error().error));
    }
    _process.emplace(std::move(*process));
}

// The Subprocess SIGKILLs and reaps a child that still runs.
ChildProcess::~ChildProcess() = default;

bool ChildProcess::running()
{
    if (_status)
    {
        return false;
    }
    if (!_process->hasExited())
    {
        return true;
    }
    _status = _process->reap();
    return false;
}

std::optional<ExitStatus> ChildProcess::waitFor(std::chrono::milliseconds timeout)
{
    if (!_status && !_process->communicate(std::chrono::steady_clock::now() + timeout))
    {
        return std::nullopt;
    }
    running();
    return _status;
}

void ChildProcess::signal(int signal)
{
    _process->signal(signal);
}

ExitStatus ChildProcess::kill()
{
    if (!_status)
    {
        _process->signal(SIGKILL);
        _status = _process->reap().value_or(ExitStatus{});
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
