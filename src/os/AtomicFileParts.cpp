#include "AtomicFileParts.h"

namespace rotator::os::detail
{

using core::FailureKind;

namespace
{

std::optional<SplitPath> splitPath(const std::string& path)
{
    if (path.empty() || path.back() == '/')
    {
        return std::nullopt;
    }
    const auto slash = path.rfind('/');
    SplitPath out;
    if (slash == std::string::npos)
    {
        out.dir = ".";
        out.base = path;
    }
    else
    {
        out.dir = slash == 0 ? "/" : path.substr(0, slash);
        out.base = path.substr(slash + 1);
    }
    if (out.base == "." || out.base == "..")
    {
        return std::nullopt;
    }
    return out;
}

} // namespace

std::optional<tl::unexpected<core::Failure>>
refuseTarget(const std::string& path, const struct stat& st, const struct stat& dirSt)
{
    std::string why;
    if (S_ISLNK(st.st_mode))
    {
        why = "it is a symbolic link (the sink never follows links: remove the link and let "
              "the rotator create the file, or point the sink at the real path)";
    }
    else if (S_ISDIR(st.st_mode))
    {
        why = "it is a directory (the sink's path must name a file)";
    }
    else if (!S_ISREG(st.st_mode))
    {
        why = "it is not a regular file (a device, FIFO or socket; point the sink at a file)";
    }
    else if (st.st_dev != dirSt.st_dev)
    {
        why = "it is a mount point (a bind-mounted file cannot be replaced by rename: mount its "
              "directory instead)";
    }
    else
    {
        return std::nullopt;
    }
    return core::fail(FailureKind::Permanent, "refusing to write " + path + ": " + why);
}

core::Outcome<TargetDirectory> openTargetDirectory(const std::string& path, unsigned mode,
                                                   const WriteOptions& options)
{
    auto split = splitPath(path);
    if (!split)
    {
        return core::fail(FailureKind::Permanent,
                          "cannot write '" + path + "': not a file path (fix the sink's path)");
    }
    if ((mode & ~0777U) != 0)
    {
        return core::fail(FailureKind::Permanent,
                          "cannot write " + path + ": mode " + modeText(mode) +
                              " carries bits beyond 0777 (setuid, setgid or sticky), which a "
                              "credential file must not have");
    }
    TrustRules rules;
    rules.extraOwner = options.trustedDirOwner;
    rules.ownerAlternative = options.trustHint;
    // The simulator's own files (a port file in /tmp): as before, any directory will do.
    rules.anyOwner = options.allowSharedDirectory;
    rules.followLinks = options.allowSharedDirectory;
    auto directory = openTrustedDirectory(split->dir, rules);
    if (!directory)
    {
        core::Failure failure = directory.error();
        failure.message = "cannot write " + path + ": " + failure.message;
        return tl::make_unexpected(std::move(failure));
    }
    return TargetDirectory{std::move(*split), std::move(*directory)};
}

} // namespace rotator::os::detail
