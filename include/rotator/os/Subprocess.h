#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <tl/expected.hpp>

#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

/// How a child process ended: a wait status, decoded.
struct ExitStatus
{
    bool exited = false;    ///< ended by exit(); `code` is valid
    int code = -1;          ///< the exit code
    bool signalled = false; ///< ended by a signal; `signal` is valid
    int signal = 0;

    bool ok() const { return exited && code == 0; }
    /// "exit 3", "signal Killed", or "still running" for a status that is neither.
    std::string describe() const;
    static ExitStatus fromWaitStatus(int status);
};

/// What to start, and where its standard streams go.
struct SpawnOptions
{
    /// argv[0] is the program's path, run as given: no shell, no PATH search.
    std::vector<std::string> argv;
    /// The child's whole environment; nothing of ours is inherited.
    std::vector<std::string> env;
    /// Each standard stream is a pipe to us when its path is empty, else that file: stdin
    /// reads it, stdout and stderr append to it (created with mode 0600).
    std::string stdinPath;
    std::string stdoutPath;
    std::string stderrPath;
    /// Start the child in a process group of its own, so that `signal` also reaches what it
    /// starts (a shell's children).
    bool ownProcessGroup = false;
    /// Set: the child runs with this gid as its only group and this uid (the rotator must be
    /// root); started with fork and exec instead of posix_spawn, which cannot change ids.
    std::optional<gid_t> gid;
    std::optional<uid_t> uid;
};

/// Why a child could not be started: the step and its errno value.
struct SpawnError
{
    enum class Step
    {
        CreatingPipes,
        Spawning, ///< the spawn or exec failed: ENOENT, EACCES, ENOEXEC, E2BIG, EAGAIN, EPERM...
    };
    Step step = Step::Spawning;
    int error = 0;
};

/// Receives what the child writes to a piped stdout or stderr, as it arrives.
using OutputHandler = std::function<void(std::string_view chunk)>;

/// One child process started with posix_spawn from an argv and an environment, with every
/// descriptor of ours above 2 closed in it (not the database, not sockets, not a lock), an
/// empty signal mask and default signal dispositions (our mask and ignored SIGPIPE are not
/// inherited), and its standard streams on pipes or files.
///
/// Piped streams are served with poll() by `communicate` until the child exits or a deadline
/// passes: stdin is fed from `setInput`, stdout and stderr go to the output handlers, so a
/// child that writes a lot, or never reads, cannot block us; a pidfd wakes the wait when the
/// child exits even if a grandchild keeps the pipes open. The child is not reaped until
/// `reap`, so its pid and process group id stay valid for `signal` until then. Whatever path
/// leaves early, the destructor SIGKILLs the child (its group, with `ownProcessGroup`) and
/// reaps it, then kills its descendants (`killDescendants`): no zombie and no running command
/// is left behind. The read buffer is wiped, since
/// a child may echo a secret it was given.
///
/// Failures to start are values (`SpawnError`); nothing here throws or logs. Not thread-safe:
/// one thread drives one child; several children may run at once.
class Subprocess
{
public:
    /// Starts the child. Needs glibc 2.34 (posix_spawn_file_actions_addclosefrom_np).
    static tl::expected<Subprocess, SpawnError> spawn(const SpawnOptions& options);

    Subprocess(Subprocess&& other) noexcept;
    Subprocess& operator=(Subprocess&&) = delete;
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;
    ~Subprocess();

    pid_t pid() const { return _pid; }

    /// The bytes `communicate` writes to a piped stdin, which is closed (end of file for the
    /// child) once all are written. The bytes must outlive the child's I/O.
    void setInput(std::string_view input);
    /// Where `communicate` and `drainOutput` hand what arrives on piped stdout and stderr.
    void setOutputHandlers(OutputHandler onStdout, OutputHandler onStderr);

    /// Serves the pipes (if any) until the child exits or `deadline` passes; it is not reaped.
    /// Returns true when it exited. SIGPIPE is blocked in this thread while we may write to
    /// the child, so a child that exits without reading cannot kill us. May be called again
    /// (after a signal, say) and goes on where it stopped.
    bool communicate(std::chrono::steady_clock::time_point deadline);
    /// Closes a piped stdin. Returns true when the child took all of the input before.
    bool closeInput();
    /// Reads what is still in the output pipes, at most `limit` bytes per stream (a
    /// grandchild may keep one open and writing), then closes them.
    void drainOutput(std::size_t limit);

    /// True once the child has exited (without reaping it) or has been reaped.
    bool hasExited();
    /// Sends `signal` to the child, or to its whole group with `ownProcessGroup`. A no-op once
    /// reaped, so it never reaches a process that reused the pid.
    void signal(int signal);
    /// SIGKILLs whatever the child left behind (os::killDescendants): everything below it while
    /// it lives, and the orphans that reparented to us when this process is a child subreaper
    /// (not the children of other live Subprocesses). Call it after `reap` too: that is when a
    /// hook's background processes become orphans. Returns how many were killed.
    std::size_t killDescendants();
    /// Waits for the child and returns how it ended; nullopt when its status was lost
    /// (somebody else reaped it). Later calls return nullopt.
    std::optional<ExitStatus> reap();
    bool reaped() const { return _reaped; }

private:
    Subprocess() = default;

    void writeSome();
    void readSome(UniqueFd& fd, const OutputHandler& handler, std::size_t limit);

    pid_t _pid = -1;
    bool _ownProcessGroup = false;
    bool _reaped = false;
    UniqueFd _pidFd;
    UniqueFd _in;
    UniqueFd _out;
    UniqueFd _err;
    std::string_view _input;
    std::size_t _written = 0;
    OutputHandler _onStdout;
    OutputHandler _onStderr;
    std::vector<char> _buffer;
};

} // namespace rotator::os
