#include "rotator/os/TrustedPath.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include "FileFailure.h"
#include "rotator/os/Errno.h"

namespace rotator::os
{

using core::FailureKind;

namespace
{

// As many as the kernel follows in one path (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

bool trustedOwner(uid_t uid, const TrustRules& rules)
{
    return uid == 0 || uid == ::geteuid() || (rules.extraOwner && uid == *rules.extraOwner);
}

/// Others may add entries to it: only a root-owned sticky directory gets this far.
bool shared(const struct stat& st)
{
    return (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

std::string whoMayOwn()
{
    const uid_t euid = ::geteuid();
    return euid == 0 ? "root" : "root or the rotator's user (" + ownerText(euid) + ")";
}

std::string facts(const struct stat& st)
{
    return " (owner " + ownerText(st.st_uid) + ", mode " + modeText(st.st_mode) + ")";
}

/// The problem with directory `path` under `rules`; `last` says no component follows it.
std::optional<std::string> directoryProblem(const std::string& path, const struct stat& st,
                                            const TrustRules& rules, bool last)
{
    if (rules.anyOwner)
    {
        return std::nullopt;
    }
    if (!trustedOwner(st.st_uid, rules))
    {
        return "directory " + path + facts(st) +
               " belongs to a user the rotator does not trust: its owner could replace what "
               "lies below it, and only " +
               whoMayOwn() + " may own a directory on this path (run \"chown root " + path + "\"" +
               (rules.ownerAlternative.empty() ? "" : ", or " + rules.ownerAlternative) + ")";
    }
    const bool stickyRoot = (st.st_mode & S_ISVTX) != 0 && st.st_uid == 0;
    if (shared(st) && !(stickyRoot && (!last || rules.stickyLastDirectory)))
    {
        return "directory " + path + facts(st) + " is writable by " +
               ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
               ", who could replace what lies below it (run \"chmod go-w " + path + "\"" +
               (stickyRoot ? ", or use a directory of its own below it" : "") + ")";
    }
    return std::nullopt;
}

std::string joined(const std::string& dir, const std::string& name)
{
    return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string parentOf(const std::string& dir)
{
    const auto slash = dir.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

void prependComponents(const std::string& path, std::deque<std::string>& components)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size())
    {
        auto end = path.find('/', start);
        if (end == std::string::npos)
        {
            end = path.size();
        }
        std::string part = path.substr(start, end - start);
        if (!part.empty() && part != ".")
        {
            parts.push_back(std::move(part));
        }
        start = end + 1;
    }
    components.insert(components.begin(), parts.begin(), parts.end());
}

tl::unexpected<core::Failure> refused(const std::string& message)
{
    return core::fail(FailureKind::Permanent, message);
}

tl::unexpected<core::Failure> openFailure(const std::string& path, int error)
{
    if (error == ENOENT)
    {
        return refused("directory " + path + " does not exist (" + errnoText(error) +
                       "): create it, or fix the path");
    }
    if (error == ENOTDIR)
    {
        return refused(path + " is not a directory (fix the path)");
    }
    return core::fail(detail::kindOf(error), "cannot open directory " + path + ": " +
                                                 detail::explain(error, parentOf(path)));
}

/// Walks a path from `/`, checking each directory before it goes down into it.
class Walk
{
public:
    explicit Walk(const TrustRules& rules) : _rules(rules) {}

    /// Walks `path`; with `stopBeforeFile` the last component (after links) is not opened but
    /// left in `name()`.
    core::Outcome<void> run(const std::string& path, bool stopBeforeFile)
    {
        std::string absolute = path;
        if (absolute.empty() || absolute.front() != '/')
        {
            std::array<char, 4096> cwd{};
            if (::getcwd(cwd.data(), cwd.size()) == nullptr)
            {
                const int error = errno;
                return core::fail(detail::kindOf(error),
                                  "cannot resolve " + path + ": " + errnoText(error));
            }
            absolute = std::string(cwd.data()) + "/" + absolute;
        }
        std::deque<std::string> components;
        prependComponents(absolute, components);
        if (auto ok = openRoot(); !ok)
        {
            return ok;
        }
        while (!components.empty())
        {
            std::string name = std::move(components.front());
            components.pop_front();
            struct stat link = {};
            const bool isLink =
                ::fstatat(_dir.fd.get(), name.c_str(), &link, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(link.st_mode);
            if (isLink)
            {
                if (auto ok = followLink(name, link, components); !ok)
                {
                    return ok;
                }
                continue;
            }
            if (stopBeforeFile && components.empty())
            {
                _name = std::move(name);
                return finish();
            }
            if (auto ok = descend(name); !ok)
            {
                return ok;
            }
        }
        if (stopBeforeFile)
        {
            return refused(path + " does not name a file (fix the path)");
        }
        return finish();
    }

    TrustedDirectory& directory() { return _dir; }
    std::string& name() { return _name; }

private:
    core::Outcome<void> openRoot()
    {
        _dir.fd.reset(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!_dir.fd.valid() || ::fstat(_dir.fd.get(), &_dir.st) != 0)
        {
            return openFailure("/", errno);
        }
        _dir.path = "/";
        return check(false);
    }

    core::Outcome<void> check(bool last) const
    {
        if (auto problem = directoryProblem(_dir.path, _dir.st, _rules, last))
        {
            return refused(*problem);
        }
        return {};
    }

    /// The directory the walk stops in must also pass as a last component.
    core::Outcome<void> finish() const { return check(true); }

    /// Opens `name` below the current directory and checks it as a component others lie below;
    /// `finish` checks the one the walk ends in as the last.
    core::Outcome<void> descend(const std::string& name)
    {
        const std::string path = name == ".." ? parentOf(_dir.path) : joined(_dir.path, name);
        UniqueFd next(
            ::openat(_dir.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.valid())
        {
            return openFailure(path, errno);
        }
        struct stat st = {};
        if (::fstat(next.get(), &st) != 0)
        {
            return openFailure(path, errno);
        }
        _dir.fd = std::move(next);
        _dir.st = st;
        _dir.path = path;
        return check(false);
    }

    core::Outcome<void> followLink(const std::string& name, const struct stat& link,
                                   std::deque<std::string>& components)
    {
        const std::string path = joined(_dir.path, name);
        if (!_rules.followLinks)
        {
            return refused(path +
                           " is a symbolic link, and the rotator follows none on this path: "
                           "whoever can change the link could point it anywhere (use the real "
                           "path)");
        }
        // In a sticky directory anyone may add a link; only its owner may replace it.
        if (!_rules.anyOwner && shared(_dir.st) && link.st_uid != 0 && link.st_uid != ::geteuid())
        {
            return refused("symbolic link " + path + " in the shared directory " + _dir.path +
                           " belongs to " + ownerText(link.st_uid) +
                           ", who could point it anywhere (use the real path)");
        }
        if (++_links > kMaxLinks)
        {
            return refused("too many symbolic links at " + path + " (is there a loop?)");
        }
        std::vector<char> target(static_cast<std::size_t>(link.st_size > 0 ? link.st_size : 255) +
                                 1);
        const ssize_t n = ::readlinkat(_dir.fd.get(), name.c_str(), target.data(), target.size());
        if (n < 0 || static_cast<std::size_t>(n) >= target.size())
        {
            return core::fail(FailureKind::Transient, "cannot read symbolic link " + path + ": " +
                                                          errnoText(n < 0 ? errno : EAGAIN) +
                                                          " (was it changed?)");
        }
        const std::string text(target.data(), static_cast<std::size_t>(n));
        prependComponents(text, components);
        if (!text.empty() && text.front() == '/')
        {
            return openRoot();
        }
        return {};
    }

    const TrustRules& _rules;
    TrustedDirectory _dir;
    std::string _name;
    int _links = 0;
};

} // namespace

std::string ownerText(uid_t uid)
{
    struct passwd pw = {};
    struct passwd* found = nullptr;
    std::array<char, 4096> buffer{};
    std::string out = "uid " + std::to_string(uid);
    if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    {
        out += std::string(" (") + pw.pw_name + ")";
    }
    return out;
}

std::string modeText(mode_t mode)
{
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "0%03o", static_cast<unsigned>(mode) & 07777U);
    return text.data();
}

core::Outcome<TrustedDirectory> openTrustedDirectory(const std::string& path,
                                                     const TrustRules& rules)
{
    Walk walk(rules);
    if (auto ok = walk.run(path, false); !ok)
    {
        return tl::make_unexpected(ok.error());
    }
    return std::move(walk.directory());
}

core::Outcome<TrustedFile> openTrustedFile(const std::string& path, const TrustRules& rules,
                                           bool readable)
{
    Walk walk(rules);
    if (auto ok = walk.run(path, true); !ok)
    {
        return tl::make_unexpected(ok.error());
    }
    TrustedFile file{std::move(walk.directory()), std::move(walk.name()), UniqueFd(), {}};
    const int flags =
        (readable ? O_RDONLY : O_PATH) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    file.fd.reset(::openat(file.directory.fd.get(), file.name.c_str(), flags));
    if (!file.fd.valid() || ::fstat(file.fd.get(), &file.st) != 0)
    {
        const int error = errno;
        return core::fail(detail::kindOf(error), "cannot open " +
                                                     joined(file.directory.path, file.name) + ": " +
                                                     errnoText(error));
    }
    return file;
}

std::optional<std::string> inputFileProblem(const std::string& path, const struct stat& st)
{
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
    {
        return "file " + path + facts(st) +
               " belongs to a user the rotator does not trust, who could change what the "
               "rotator reads or runs; only " +
               whoMayOwn() + " may own it (run \"chown root " + path + "\")";
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
        return "file " + path + facts(st) + " is writable by " +
               ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
               ", who could change what the rotator reads or runs (run \"chmod go-w " + path +
               "\")";
    }
    return std::nullopt;
}

core::Outcome<TrustedFile> openTrustedInput(const std::string& path, bool readable)
{
    TrustRules rules;
    rules.followLinks = true;
    rules.stickyLastDirectory = true;
    auto file = openTrustedFile(path, rules, readable);
    if (!file)
    {
        return file;
    }
    if (auto problem = inputFileProblem(path, file->st))
    {
        return refused(*problem);
    }
    return file;
}

std::optional<std::string> privateEntryProblem(const std::string& what, const std::string& path,
                                               const struct stat& st)
{
    if (S_ISLNK(st.st_mode))
    {
        return what + " " + path +
               " is a symbolic link; the rotator follows none there (replace the link by the "
               "real " +
               what + ", or point the configuration at it)";
    }
    if (st.st_uid != ::geteuid())
    {
        return what + " " + path + facts(st) + " does not belong to the rotator's user (" +
               ownerText(::geteuid()) +
               "): its owner could change what the rotator trusts (remove it so that the "
               "rotator creates its own, or run \"chown " +
               std::to_string(::geteuid()) + " " + path + "\" if it is the rotator's)";
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
        return what + " " + path + facts(st) + " is writable by " +
               ((st.st_mode & S_IWOTH) != 0 ? "others" : "its group") +
               ", who could change what the rotator trusts (run \"chmod go-w " + path + "\")";
    }
    return std::nullopt;
}

tl::expected<PrivateEntry, PrivateFileRefusal> openPrivateFile(int dirFd, const std::string& name,
                                                               int flags, mode_t mode,
                                                               const std::string& what,
                                                               const std::string& path)
{
    PrivateEntry entry;
    entry.fd.reset(::openat(dirFd, name.c_str(),
                            flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode));
    const struct stat& st = entry.st;
    if (!entry.fd.valid() || ::fstat(entry.fd.get(), &entry.st) != 0)
    {
        const int error = errno;
        // O_NOFOLLOW fails at a link (ELOOP, or ENOTDIR with O_DIRECTORY): say that it is one.
        struct stat link = {};
        if (::fstatat(dirFd, name.c_str(), &link, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(link.st_mode))
        {
            return tl::make_unexpected(
                PrivateFileRefusal{0, *privateEntryProblem(what, path, link)});
        }
        return tl::make_unexpected(
            PrivateFileRefusal{error, "cannot open " + path + ": " + errnoText(error)});
    }
    auto problem = privateEntryProblem(what, path, st);
    const bool directory = (flags & O_DIRECTORY) != 0; // the open made sure it is one
    if (!problem && !directory && !S_ISREG(st.st_mode))
    {
        problem = what + " " + path + " is not a regular file";
    }
    if (!problem && !directory && st.st_nlink > 1)
    {
        // Another name would keep what the rotator wrote (a secret) after it removes this one,
        // or make it write into another of its files.
        problem = what + " " + path + " has " + std::to_string(st.st_nlink) +
                  " hard links: another name for it outlives its removal (remove the other "
                  "links, or the file so that the rotator creates its own)";
    }
    if (problem)
    {
        return tl::make_unexpected(PrivateFileRefusal{0, std::move(*problem)});
    }
    return entry;
}

} // namespace rotator::os
