#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "rotator/core/Outcome.h"

namespace rotator::os
{

/// Who a written file should belong to; an empty member leaves that id as the kernel sets it.
struct FileOwner
{
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
};

/// What `writeFileAtomically` may do beyond writing a file with a mode.
struct WriteOptions
{
    FileOwner owner;
    /// Also trust directories on the path that this user owns (`sinks.S.trustDirOwner`); by
    /// default only root and the effective user may own them.
    std::optional<uid_t> trustedDirOwner;
    /// How to fix an untrusted directory owner besides chown, for the message (e.g. "set
    /// sinks.app.trustDirOwner = app").
    std::string trustHint;
    /// Write into any directory, following links, whoever owns it and may write to it (such as
    /// /tmp), which is refused by default: there anyone could replace the file after we wrote
    /// it. Only for files that carry no credential a reader trusts (the simulator's own files).
    bool allowSharedDirectory = false;
};

/// Writes `content` to `path` so that readers see the old or the new file, never a mix. The
/// directory is opened through trusted components (`openTrustedDirectory`: no symbolic link,
/// every directory owned by root, the effective user or `options.trustedDirOwner` and
/// writable by nobody else, a root-owned sticky directory only above the last one) and every
/// step below works relative to its descriptor, so nobody who owns a directory on the path
/// can redirect the write: a temp file next to the target created with
/// O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and the final mode (no wider window), fchown if asked,
/// write, fsync, rename over the target, fsync the directory. If the target already holds identical
/// bytes with the same mode (and owner), nothing is written and the result is false ("unchanged").
/// The target must not be a symlink, a directory or a non-regular file: refuse with a message. On
/// any failure the temp file is removed and the target is untouched. Reads the file back after the
/// rename (O_NONBLOCK, so a FIFO swapped in cannot block it) and requires the inode just renamed
/// and its bytes. Never puts the content into a message.
///
/// `mode` may only carry permission bits (0777). Failures: `Permanent` for what needs a
/// person (missing directory, permission denied, read-only filesystem, a symlink, directory,
/// special file or mount point at the target, refused chown); `Transient` for what may pass
/// (no space, quota, I/O error, a read-back that differs). Messages start with
/// "cannot write <path>" or "refusing to write <path>" and say what to fix. A failure after
/// the rename (directory fsync, read-back) leaves the new file in place, where a reader may
/// already have taken it: it is `ambiguous`, and a retry finds the file unchanged. An
/// untrusted directory is refused (`Permanent`, naming the directory, its owner and mode and
/// the fix) unless `options` allow it. Thread-safe for distinct paths.
core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const WriteOptions& options);

/// `writeFileAtomically` with default options and this owner.
core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const FileOwner& owner = {});

/// Checks, without creating or changing anything, that `writeFileAtomically(path, …, mode,
/// owner)` could succeed now: the directory exists, is trusted as the write requires, and the
/// effective user may create files in it (not read-only), the target is absent or a regular file on
/// the same filesystem as its directory (not a symlink, directory, special file or mount point),
/// the mode is valid and the owner/group can be given away (root, CAP_CHOWN, or our own
/// ids/groups). Failures carry the same messages and kinds as `writeFileAtomically`.
core::Outcome<void> checkFileWritable(const std::string& path, unsigned mode,
                                      const WriteOptions& options);

/// `checkFileWritable` with default options and this owner.
core::Outcome<void> checkFileWritable(const std::string& path, unsigned mode,
                                      const FileOwner& owner = {});

/// Removes every temporary file `writeFileAtomically` may have left in `directory` when its
/// process was killed mid-write (`.<name>.tmp-*`); they can hold a secret. Only for a
/// directory no other process writes such names to (the pending directory under the lock).
void removeStaleTemporaryFiles(const std::string& directory);

namespace detail
{
/// Test seam: called with the target path after the rename and before the read-back, so a
/// test can prove the read-back happens by tampering with the file. Empty in production.
/// Not thread-safe: set it only while no write is running.
void setAfterRenameHookForTests(std::function<void(const std::string&)> hook);
} // namespace detail

} // namespace rotator::os
