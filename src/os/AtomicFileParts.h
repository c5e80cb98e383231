#pragma once

// The pieces `writeFileAtomically` and `checkFileWritable` share (AtomicFile.cpp,
// FileWriteCheck.cpp): the target's directory opened through trusted components, and the
// refusals both report the same way.

#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>

#include "rotator/core/Outcome.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/os/TrustedPath.h"

namespace rotator::os::detail
{

/// A file path split into its directory and its name in it.
struct SplitPath
{
    std::string dir;
    std::string base;
};

/// The target's directory, open, and the target's name in it.
struct TargetDirectory
{
    SplitPath split;
    TrustedDirectory directory;
    int fd() const { return directory.fd.get(); }
    const struct stat& st() const { return directory.st; }
};

/// Checks what a write and a dry-run check share: a file path, a permission-only mode, and a
/// directory reached through trusted components (see `openTrustedDirectory`) that others
/// cannot write. Messages start with "cannot write <path>" or "refusing to write <path>".
core::Outcome<TargetDirectory> openTargetDirectory(const std::string& path, unsigned mode,
                                                   const WriteOptions& options);

/// Refuses a target that rename would not treat as a plain file. `st` is from lstat.
std::optional<tl::unexpected<core::Failure>>
refuseTarget(const std::string& path, const struct stat& st, const struct stat& dirSt);

} // namespace rotator::os::detail
