#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace rotator::os
{

/// No bound on what `readFile` reads.
inline constexpr std::size_t kNoReadLimit = std::numeric_limits<std::size_t>::max();

/// Reads from `fd` until end of file or until `limit` bytes, replacing the content of `out`,
/// and retries reads that a signal interrupted. Returns 0, or the errno of a failed read (then
/// `out` is wiped and empty). The bytes may be a secret: they are read straight into `out`,
/// sized from fstat up front, and when it must grow the old storage is wiped, so no copy is
/// left behind (the caller wipes `out` itself). Thread-safe for distinct descriptors.
int readUpTo(int fd, std::size_t limit, std::string& out);

/// Opens `path` read-only and close-on-exec, plus `openFlags` (e.g. O_NOFOLLOW, O_NONBLOCK),
/// and reads it with `readUpTo`. Returns 0 or an errno value (ENOENT: no such file); `out` is
/// empty on failure.
int readFile(const std::string& path, std::string& out, std::size_t limit = kNoReadLimit,
             int openFlags = 0);

/// The names of the entries in the open directory `dirFd` (without "." and ".."), read from its
/// start through a close-on-exec duplicate of it, which is closed on every path: `dirFd` stays
/// the caller's and open. Empty when it cannot be listed (not a directory, out of
/// descriptors).
std::vector<std::string> entryNames(int dirFd);

} // namespace rotator::os
