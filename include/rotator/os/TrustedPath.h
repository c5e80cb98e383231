#pragma once

#include <optional>
#include <string>

#include <sys/stat.h>
#include <sys/types.h>

#include "rotator/core/Outcome.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

/// What a trusted path may look like. The default is the strict rule for a credential file's
/// directory: no symbolic link anywhere, every directory owned by root or the effective user
/// and writable by nobody else, except that a root-owned sticky directory (`/tmp`) may be an
/// intermediate component (only its owner may rename an entry of it, and the entry is checked).
struct TrustRules
{
    /// Also trust directories this user owns (`sinks.S.trustDirOwner`). It never makes a
    /// directory that its group or others can write acceptable.
    std::optional<uid_t> extraOwner;
    /// Follow symbolic links (a Kubernetes volume mounts files through links): each link must
    /// lie in a checked directory and, in a sticky one, belong to root or the effective user.
    /// Otherwise a link anywhere on the path is refused.
    bool followLinks = false;
    /// The last directory may be a root-owned sticky directory too: fine for an input owned by
    /// root or us (nobody else may replace it), not for a credential file others would read.
    bool stickyLastDirectory = false;
    /// Check nothing about owners and modes: only for files that carry no credential a reader
    /// trusts (the simulator's own files). Links are still handled as `followLinks` says.
    bool anyOwner = false;
    /// Appended to the fix of a directory with an untrusted owner, e.g.
    /// "or set sinks.app.trustDirOwner = app".
    std::string ownerAlternative;
};

/// A directory reached through checked components, open with O_DIRECTORY.
struct TrustedDirectory
{
    UniqueFd fd;
    struct stat st = {};
    std::string path; ///< the path it was reached by, links resolved
};

/// A file reached through checked directories: its directory, its name there and, when it
/// exists, its status (from fstat of `fd`, opened O_NOFOLLOW|O_NONBLOCK relative to the
/// directory).
struct TrustedFile
{
    TrustedDirectory directory;
    std::string name;
    UniqueFd fd;
    struct stat st = {};
};

/// Opens the directory `path` (absolute, or relative to the working directory) from `/`
/// component by component with openat(O_NOFOLLOW|O_DIRECTORY), checking each directory by
/// `rules` before going down: a symbolic link replaced in any component after the check cannot
/// redirect later operations, which work relative to the returned descriptor. Failures are
/// `Permanent` with a message that names the directory, its owner and mode and the fix
/// ("directory /srv/app is owned by uid 1000 (app), mode 0755; ..."); a missing component says
/// "does not exist", other errors carry their errno text. Thread-safe.
core::Outcome<TrustedDirectory> openTrustedDirectory(const std::string& path,
                                                     const TrustRules& rules);

/// Opens the file `path` the way `openTrustedDirectory` opens its directory (following a link
/// at the last component too when `rules.followLinks`) and opens the file relative to it with
/// O_NOFOLLOW|O_NONBLOCK: `readable` opens it O_RDONLY (to read it through `fd`), otherwise
/// O_PATH (only to inspect it: a program the rotator may execute but not read). A FIFO or
/// device never blocks the open. The file itself is not judged: see `inputFileProblem`.
/// Failures as above; one opening the file says "cannot open <path>: <errno text>".
core::Outcome<TrustedFile> openTrustedFile(const std::string& path, const TrustRules& rules,
                                           bool readable);

/// The problem with an input file the rotator reads or runs (the configuration, a CA file, a
/// token file, a hook's program) by its status `st`: it must belong to root or the effective
/// user and be writable by nobody else. Returns the message with the fix, or nullopt.
std::optional<std::string> inputFileProblem(const std::string& path, const struct stat& st);

/// `openTrustedFile` for an input: links followed, a root-owned sticky last directory allowed
/// (the file's owner is checked), and `inputFileProblem` refused.
core::Outcome<TrustedFile> openTrustedInput(const std::string& path, bool readable);

/// Checks an entry the rotator alone owns (the state directory, its database and pending
/// files, the log file) by its lstat/fstat `st`: not a symbolic link, owned by the effective
/// user, not writable by its group or others. `what` names it in the message ("state
/// directory /var/lib/astra-rotator is owned by uid 1000 (app), mode 0700; ..."), which says
/// the fix. Returns the message, or nullopt when the entry is fine.
std::optional<std::string> privateEntryProblem(const std::string& what, const std::string& path,
                                               const struct stat& st);

/// An entry `openPrivateFile` opened, and its status from fstat of `fd`.
struct PrivateEntry
{
    UniqueFd fd;
    struct stat st = {};
};

/// Why `openPrivateFile` did not open a file.
struct PrivateFileRefusal
{
    /// The errno of an open that failed (ENOENT: absent), with the message "cannot open
    /// <path>: <errno text>"; 0 when the entry is there but refused (a link, not a regular
    /// file, another hard link, not the rotator's alone), with the message of
    /// `privateEntryProblem` or "<what> <path> is not a regular file" (or "has N hard links").
    int error = 0;
    std::string message;
};

/// Opens an entry the rotator alone owns (the log file, a pending file, the state directory)
/// by `name` relative to `dirFd` (AT_FDCWD: `name` is a path) with `flags` plus O_NOFOLLOW|
/// O_NONBLOCK|O_NOCTTY|O_CLOEXEC (with O_CREAT a new file gets `mode`), and judges it on the
/// open descriptor: `privateEntryProblem`, and a regular file with no other hard link (with
/// O_DIRECTORY: a directory, ENOTDIR otherwise). A link at `name` is refused as such, not
/// followed; a FIFO never blocks the open. `what` and `path` name it in the messages.
tl::expected<PrivateEntry, PrivateFileRefusal> openPrivateFile(int dirFd, const std::string& name,
                                                               int flags, mode_t mode,
                                                               const std::string& what,
                                                               const std::string& path);

/// "uid 1000 (app)", or "uid 1000" when the user database has no name for it.
std::string ownerText(uid_t uid);

/// The permission bits of `mode` (with setuid, setgid and sticky) in octal as chmod takes them:
/// "0755", "01777". The one formatter of a mode in messages.
std::string modeText(mode_t mode);

} // namespace rotator::os
