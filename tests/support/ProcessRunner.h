#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "rotator/os/Subprocess.h"

namespace rotator::test
{

class TempDir;

/// How a child process ended (a `waitpid` status, decoded).
using ExitStatus = os::ExitStatus;

/// One child process started from an argv (no shell, no PATH search) with exactly the given
/// environment, stdin from /dev/null and stdout/stderr into files. Every descriptor of the
/// test process above 2 is closed in the child (the in-process simulator's sockets must not
/// leak into it).
///
/// A thin layer over os::Subprocess: `waitFor` waits with a bound (woken by the child's exit),
/// never forever; the destructor SIGKILLs and reaps a child that still runs, so a failing test
/// leaves no process behind. Not thread-safe. Throws std::runtime_error when the process
/// cannot be started.
class ChildProcess
{
public:
    /// stdout and stderr go to `stdoutPath` / `stderrPath`, or to files of a private temporary
    /// directory when empty.
    ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
                 std::string stdoutPath = {}, std::string stderrPath = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return _process->pid(); }
    /// True until the child has been reaped.
    bool running();
    /// Waits at most `timeout` for the child to end; nullopt when it still runs.
    std::optional<ExitStatus> waitFor(std::chrono::milliseconds timeout);
    /// Sends `signal` (no-op once reaped).
    void signal(int signal);
    /// SIGKILL, then reap; returns how it ended (it may have exited just before).
    ExitStatus kill();

    std::string stdoutText() const;
    std::string stderrText() const;
    const std::string& stdoutPath() const { return _stdoutPath; }
    const std::string& stderrPath() const { return _stderrPath; }

private:
    std::unique_ptr<TempDir> _outputDir;
    std::string _stdoutPath;
    std::string _stderrPath;
    std::optional<os::Subprocess> _process; ///< after the output paths: it dies first
    std::optional<ExitStatus> _status;
};

/// What `runProcess` saw.
struct ProcessResult
{
    std::optional<ExitStatus> status; ///< nullopt: killed after the timeout
    std::string out;
    std::string err;

    bool ok() const { return status && status->ok(); }
    /// status, stdout and stderr, for assertion messages.
    std::string describe() const;
};

/// Runs a command to completion (at most `timeout`, then SIGKILL) and returns its output.
ProcessResult runProcess(std::vector<std::string> argv, std::vector<std::string> env,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// The environment children get by default: only a PATH.
std::vector<std::string> minimalEnvironment();

} // namespace rotator::test
