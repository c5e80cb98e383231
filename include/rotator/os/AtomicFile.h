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
    /// Write into a directory others may write to (such as /tmp), which is refused by default:
    /// there anyone could replace the file after we wrote it. Only for files that carry no
    /// credential a reader trusts (the simulator's own files).
    bool allowSharedDirectory = false;
};

/// Writes `content` to `path` so that readers see the old or the new file, never a mix:
/// a temp file next to the target created with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and the
/// final mode (no wider window), fchown if asked, write, fsync, rename over the target, fsync
/// the directory. If the target already holds identical bytes with the same mode (and owner),
/// nothing is written and the result is false ("unchanged"). The target must not be a symlink,
/// a directory or a non-regular file: refuse with a message. On any failure the temp file is
/// removed and the target is untouched. Reads the file back after the rename and compares.
/// Never puts the content into a message.
///
/// `mode` may only carry permission bits (0777). Failures: `Permanent` for what needs a
/// person (missing directory, permission denied, read-only filesystem, a symlink, directory,
/// special file or mount point at the target, refused chown); `Transient` for what may pass
/// (no space, quota, I/O error, a read-back that differs). Messages start with
/// "cannot write <path>" or "refusing to write <path>" and say what to fix. A failure after
/// the rename (directory fsync, read-back) leaves the new file in place, where a reader may
/// already have taken it: it is `ambiguous`, and a retry finds the file unchanged. A directory
/// others may write to is refused (`Permanent`) unless `options` allow it. Thread-safe for
/// distinct paths.
core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const WriteOptions& options);

/// `writeFileAtomically` with default options and this owner.
core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const FileOwner& owner = {});

/// Checks, without creating or changing anything, that `writeFileAtomically(path, …, mode,
/// owner)` could succeed now: the directory exists and the effective user may create files in
/// it (not read-only), the target is absent or a regular file on the same filesystem as its
/// directory (not a symlink, directory, special file or mount point), the mode is valid and
/// the owner/group can be given away (root, CAP_CHOWN, or our own ids/groups). Failures carry
/// the same messages and kinds as `writeFileAtomically`.
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
