#include "FileFailure.h"

#include <cerrno>

#include "rotator/os/Errno.h"

namespace rotator::os::detail
{

using core::FailureKind;

FailureKind kindOf(int error)
{
    switch (error)
    {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case EXDEV:
    case EBUSY:
    case EINVAL:
    case ENXIO:
    case EOPNOTSUPP:
        return FailureKind::Permanent;
    default:
        return FailureKind::Transient;
    }
}

std::string explain(int error, const std::string& dir)
{
    const std::string text = errnoText(error);
    switch (error)
    {
    case EACCES:
    case EPERM:
        return text + " (the rotator's user needs write and search permission on " + dir + ")";
    case EROFS:
        return text + " (remount it read-write or point the sink elsewhere)";
    case ENOSPC:
        return text + " (free space on the filesystem of " + dir + "; delivery is retried)";
    case EDQUOT:
        return text + " (raise the quota of the rotator's user; delivery is retried)";
    case EIO:
        return text + " (check the disk; delivery is retried)";
    default:
        return text;
    }
}

tl::unexpected<core::Failure> ioFailure(const std::string& path, const std::string& step, int error,
                                        const std::string& dir)
{
    return core::fail(kindOf(error),
                      "cannot write " + path + " (" + step + "): " + explain(error, dir));
}

} // namespace rotator::os::detail
