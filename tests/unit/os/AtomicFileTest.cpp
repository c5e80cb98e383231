#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/os/AtomicFile.h"
#include "support/SystemProbes.h"
#include "support/TempDir.h"

using rotator::core::FailureKind;
using rotator::core::Outcome;
using rotator::os::checkFileWritable;
using rotator::os::FileOwner;
using rotator::os::writeFileAtomically;
using rotator::test::listDir;
using rotator::test::lstatOf;
using rotator::test::readFile;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

constexpr uid_t kNobody = 65534;

// Content that stands for a secret: no message may quote it.
const std::string kSecret = "Zq9WkXsecret,ValueWith.Punct-And+Plus_Under";

unsigned modeOf(const std::string& path)
{
    return static_cast<unsigned>(lstatOf(path).st_mode) & 07777U;
}

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// Sets the umask for one test and restores it.
class UmaskGuard
{
public:
    explicit UmaskGuard(mode_t mask) : _old(::umask(mask)) {}
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;
    ~UmaskGuard() { ::umask(_old); }

private:
    mode_t _old;
};

/// Clears the after-rename hook however the test ends.
struct HookGuard
{
    HookGuard() = default;
    HookGuard(const HookGuard&) = delete;
    HookGuard& operator=(const HookGuard&) = delete;
    ~HookGuard() { rotator::os::detail::setAfterRenameHookForTests({}); }
};

/// What a write in a child process returned.
struct ChildResult
{
    bool ran = false; ///< false: the setup could not be done (e.g. privileges not droppable)
    bool ok = false;
    bool value = false;
    FailureKind kind = FailureKind::Permanent;
    std::string message;
};

/// Runs `write` in a forked child after `setup` (which returns false when it cannot do its
/// job), so limits and dropped privileges never touch the test process.
ChildResult runInChild(const std::function<bool()>& setup,
                       const std::function<Outcome<bool>()>& write)
{
    int fds[2];
    if (::pipe(fds) != 0)
    {
        ADD_FAILURE() << "pipe failed";
        return {};
    }
    const pid_t pid = ::fork();
    if (pid == 0)
    {
        ::close(fds[0]);
        if (!setup())
        {
            ::_exit(3);
        }
        const auto result = write();
        const std::string out = result ? std::string("ok ") + (*result ? "1" : "0")
                                       : "fail " +
                                             std::to_string(static_cast<int>(result.error().kind)) +
                                             " " + result.error().message;
        const ssize_t n = ::write(fds[1], out.data(), out.size());
        ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 4);
    }
    ::close(fds[1]);
    std::string text;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
    {
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ChildResult r;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << "child status " << status;
        return r;
    }
    r.ran = true;
    if (text.rfind("ok ", 0) == 0)
    {
        r.ok = true;
        r.value = text == "ok 1";
        return r;
    }
    r.kind = static_cast<FailureKind>(text[5] - '0');
    r.message = text.substr(7);
    return r;
}

/// Drops to nobody when running as root (root bypasses permission bits); otherwise the test
/// process's own user is already unprivileged enough.
bool dropPrivilegesIfRoot()
{
    if (::geteuid() != 0)
    {
        return true;
    }
    return ::setgroups(0, nullptr) == 0 && ::setgid(kNobody) == 0 && ::setuid(kNobody) == 0;
}

} // namespace

TEST(AtomicFile, CreatesTheFileWithExactlyTheRequestedModeEvenWithUmaskZero)
{
    TempDir dir;
    {
        const UmaskGuard umask(0);
        const auto written = writeFileAtomically(dir.file("a"), "content\n", 0640);
        ASSERT_TRUE(written.has_value()) << written.error().message;
        EXPECT_TRUE(*written);
        EXPECT_EQ(modeOf(dir.file("a")), 0640U);
    }
    {
        // A restrictive umask must not narrow the requested mode either.
        const UmaskGuard umask(077);
        ASSERT_TRUE(writeFileAtomically(dir.file("b"), "content\n", 0644).has_value());
        EXPECT_EQ(modeOf(dir.file("b")), 0644U);
    }
    EXPECT_EQ(readFile(dir.file("a")), "content\n");
}

TEST(AtomicFile, ReplacesAnExistingFileByRenameAndLeavesNoTemporaryFile)
{
    TempDir dir;
    writeFile(dir.file("target"), "old content\n", 0600);
    const auto before = lstatOf(dir.file("target"));
    const auto written = writeFileAtomically(dir.file("target"), "new content\n", 0600);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_TRUE(*written);
    EXPECT_EQ(readFile(dir.file("target")), "new content\n");
    // A new inode: the file was replaced by rename, never rewritten in place.
    EXPECT_NE(lstatOf(dir.file("target")).st_ino, before.st_ino);
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"target"});
}

TEST(AtomicFile, DoesNotRewriteIdenticalContent)
{
    TempDir dir;
    const std::string path = dir.file("target");
    ASSERT_TRUE(writeFileAtomically(path, kSecret, 0600).has_value());
    // An old mtime makes any rewrite visible without sleeping.
    const timespec times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    const auto before = lstatOf(path);

    const auto written = writeFileAtomically(path, kSecret, 0600);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_FALSE(*written) << "identical content must be reported unchanged";
    const auto after = lstatOf(path);
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_EQ(after.st_mtim.tv_sec, 1'000'000'000);
    EXPECT_EQ(after.st_mtim.tv_nsec, 0);
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"target"});
}

TEST(AtomicFile, RewritesIdenticalContentWhenTheModeDiffers)
{
    TempDir dir;
    const std::string path = dir.file("target");
    ASSERT_TRUE(writeFileAtomically(path, "same\n", 0600).has_value());
    const auto written = writeFileAtomically(path, "same\n", 0640);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_TRUE(*written);
    EXPECT_EQ(modeOf(path), 0640U);
}

TEST(AtomicFile, RefusesASymlinkAtTheTargetAndLeavesTheLinkedFileUntouched)
{
    TempDir dir;
    writeFile(dir.file("precious"), "precious\n", 0644);
    ASSERT_EQ(::symlink(dir.file("precious").c_str(), dir.file("target").c_str()), 0);

    const auto written = writeFileAtomically(dir.file("target"), kSecret, 0600);
    ASSERT_FALSE(written.has_value());
    const auto& failure = written.error();
    EXPECT_EQ(failure.kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(failure.message, dir.file("target"))) << failure.message;
    EXPECT_TRUE(contains(failure.message, "symbolic link")) << failure.message;
    EXPECT_FALSE(contains(failure.message, kSecret));

    EXPECT_EQ(readFile(dir.file("precious")), "precious\n");
    EXPECT_EQ(modeOf(dir.file("precious")), 0644U);
    EXPECT_TRUE(S_ISLNK(lstatOf(dir.file("target")).st_mode));
    EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"precious", "target"}));
}

TEST(AtomicFile, RefusesADirectoryAtTheTarget)
{
    TempDir dir;
    ASSERT_EQ(::mkdir(dir.file("target").c_str(), 0700), 0);
    const auto written = writeFileAtomically(dir.file("target"), kSecret, 0600);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(written.error().message, "is a directory")) << written.error().message;
    EXPECT_TRUE(contains(written.error().message, dir.file("target")));
    EXPECT_TRUE(S_ISDIR(lstatOf(dir.file("target")).st_mode));
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"target"});
}

TEST(AtomicFile, RefusesAFifoAtTheTargetWithoutBlocking)
{
    TempDir dir;
    ASSERT_EQ(::mkfifo(dir.file("target").c_str(), 0600), 0);
    const auto written = writeFileAtomically(dir.file("target"), kSecret, 0600);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(written.error().message, "not a regular file")) << written.error().message;
}

TEST(AtomicFile, FailsWithAClearMessageWhenTheDirectoryDoesNotExist)
{
    TempDir dir;
    const std::string path = dir.file("missing/target");
    const auto written = writeFileAtomically(path, kSecret, 0600);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(
        contains(written.error().message, "directory " + dir.file("missing") + " does not exist"))
        << written.error().message;
}

TEST(AtomicFile, RefusesSetuidSetgidAndStickyBits)
{
    TempDir dir;
    const auto written = writeFileAtomically(dir.file("target"), kSecret, 04600);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(written.error().message, "04600")) << written.error().message;
    EXPECT_TRUE(listDir(dir.path()).empty());
}

TEST(AtomicFile, FailsCleanlyInADirectoryItCannotWriteToAndLeavesNoTemporaryFile)
{
    TempDir dir;
    // Root ignores permission bits, so as root the write runs in a child that became nobody;
    // the temp dir must then be traversable by nobody.
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const std::string readOnly = dir.file("ro");
    ASSERT_EQ(::mkdir(readOnly.c_str(), 0755), 0);
    writeFile(readOnly + "/target", "old\n", 0644);
    ASSERT_EQ(::chmod(readOnly.c_str(), 0555), 0);

    const auto result =
        runInChild(dropPrivilegesIfRoot,
                   [&] { return writeFileAtomically(readOnly + "/target", kSecret, 0600); });
    if (!result.ran)
    {
        GTEST_SKIP() << "running as root and cannot drop privileges to nobody in a child";
    }
    ASSERT_FALSE(result.ok) << "an unwritable directory was written";
    EXPECT_EQ(result.kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(result.message, "cannot write " + readOnly + "/target")) << result.message;
    EXPECT_TRUE(contains(result.message, "Permission denied")) << result.message;
    EXPECT_TRUE(contains(result.message, "write and search permission on " + readOnly))
        << result.message;
    EXPECT_FALSE(contains(result.message, kSecret));
    EXPECT_EQ(listDir(readOnly), std::vector<std::string>{"target"});
    EXPECT_EQ(readFile(readOnly + "/target"), "old\n");
}

TEST(AtomicFile, RemovesTheTemporaryFileAndKeepsTheTargetWhenAWriteFailsMidway)
{
    TempDir dir;
    const std::string path = dir.file("target");
    writeFile(path, "old\n", 0600);
    // A file-size limit makes write() fail after the temp file exists (EFBIG), even for root.
    const auto result = runInChild(
        []
        {
            ::signal(SIGXFSZ, SIG_IGN);
            const rlimit limit{10, 10};
            return ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
        },
        [&] { return writeFileAtomically(path, std::string(100, 'x') + kSecret, 0600); });
    ASSERT_TRUE(result.ran);
    ASSERT_FALSE(result.ok);
    EXPECT_TRUE(contains(result.message, "writing the temporary file")) << result.message;
    EXPECT_FALSE(contains(result.message, kSecret));
    EXPECT_EQ(readFile(path), "old\n");
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"target"});
}

TEST(AtomicFile, RemovesTheTemporaryFileWhenTheOwnerCannotBeSet)
{
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const std::string open = dir.file("open");
    // Writable by the unprivileged writer only (a directory others can write is refused).
    ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chown(open.c_str(), kNobody, kNobody), 0);
    }
    FileOwner owner;
    owner.uid = 0; // someone else for the unprivileged writer
    const auto result =
        runInChild(dropPrivilegesIfRoot,
                   [&] { return writeFileAtomically(open + "/target", kSecret, 0600, owner); });
    if (!result.ran)
    {
        GTEST_SKIP() << "running as root and cannot drop privileges to nobody in a child";
    }
    ASSERT_FALSE(result.ok);
    EXPECT_EQ(result.kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(result.message, "setting owner uid 0")) << result.message;
    EXPECT_TRUE(contains(result.message, "CAP_CHOWN")) << result.message;
    EXPECT_TRUE(listDir(open).empty());
}

TEST(AtomicFile, GivesTheFileToTheRequestedOwnerAndGroup)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << "giving a file away needs root";
    }
    TempDir dir;
    FileOwner owner;
    owner.uid = kNobody;
    owner.gid = kNobody;
    const auto written = writeFileAtomically(dir.file("target"), "x\n", 0640, owner);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    const auto st = lstatOf(dir.file("target"));
    EXPECT_EQ(st.st_uid, kNobody);
    EXPECT_EQ(st.st_gid, kNobody);
    EXPECT_EQ(st.st_mode & 07777U, 0640U);

    // Same bytes, same mode, same owner: unchanged. Another owner: rewritten.
    EXPECT_FALSE(*writeFileAtomically(dir.file("target"), "x\n", 0640, owner));
    EXPECT_TRUE(*writeFileAtomically(dir.file("target"), "x\n", 0640, FileOwner{0, 0}));
    EXPECT_EQ(lstatOf(dir.file("target")).st_uid, 0U);
}

TEST(AtomicFile, ReadsTheFileBackAfterTheRenameAndReportsADifference)
{
    TempDir dir;
    const std::string path = dir.file("target");
    const HookGuard clearHook;
    rotator::os::detail::setAfterRenameHookForTests([](const std::string& target)
                                                    { writeFile(target, "tampered\n", 0600); });
    const auto written = writeFileAtomically(path, kSecret, 0600);
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().kind, FailureKind::Transient);
    EXPECT_TRUE(contains(written.error().message, "read back")) << written.error().message;
    EXPECT_FALSE(contains(written.error().message, kSecret));
    EXPECT_FALSE(contains(written.error().message, "tampered"));
}

// After the rename a reader may already have the new content: a failure from there on must
// not let the caller revoke the credential it carries (Failure::ambiguous), one before it must.
TEST(AtomicFile, AFailureAfterTheRenameIsAmbiguousAndOneBeforeItIsNot)
{
    TempDir dir;
    const std::string path = dir.file("target");
    const HookGuard clearHook;
    const std::function<void(const std::string&)> afterRename[] = {
        [](const std::string& target) { ::unlink(target.c_str()); },
        [](const std::string& target) { writeFile(target, "tampered\n", 0600); }};
    for (const auto& hook : afterRename)
    {
        rotator::os::detail::setAfterRenameHookForTests(hook);
        const auto written = writeFileAtomically(path, kSecret, 0600);
        ASSERT_FALSE(written.has_value());
        EXPECT_TRUE(written.error().ambiguous) << written.error().message;
        EXPECT_TRUE(contains(written.error().message, " back")) << written.error().message;
        EXPECT_TRUE(contains(written.error().message, "the new file was already in place"))
            << written.error().message;
    }
    rotator::os::detail::setAfterRenameHookForTests({});

    const auto missing = writeFileAtomically(dir.file("missing/target"), kSecret, 0600);
    ASSERT_FALSE(missing.has_value());
    EXPECT_FALSE(missing.error().ambiguous) << missing.error().message;
}

TEST(AtomicFile, ChecksWritabilityWithoutCreatingAnything)
{
    TempDir dir;
    EXPECT_TRUE(checkFileWritable(dir.file("target"), 0600).has_value());
    EXPECT_TRUE(listDir(dir.path()).empty());

    ASSERT_EQ(::symlink("/etc/passwd", dir.file("link").c_str()), 0);
    const auto link = checkFileWritable(dir.file("link"), 0600);
    ASSERT_FALSE(link.has_value());
    EXPECT_TRUE(contains(link.error().message, "symbolic link")) << link.error().message;

    const auto missing = checkFileWritable(dir.file("nowhere/target"), 0600);
    ASSERT_FALSE(missing.has_value());
    EXPECT_TRUE(contains(missing.error().message, "does not exist")) << missing.error().message;
    EXPECT_EQ(listDir(dir.path()), std::vector<std::string>{"link"});
}

TEST(AtomicFile, CheckRefusesAnOwnerAnUnprivilegedUserCannotSet)
{
    TempDir dir;
    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chown(dir.path().c_str(), kNobody, kNobody), 0);
    }
    FileOwner owner;
    owner.uid = 0;
    // Through writeFileAtomically's result channel: the check returns void, so map it.
    const auto result = runInChild(dropPrivilegesIfRoot,
                                   [&]() -> Outcome<bool>
                                   {
                                       auto ok = checkFileWritable(dir.file("t"), 0600, owner);
                                       if (!ok)
                                       {
                                           return tl::make_unexpected(ok.error());
                                       }
                                       return true;
                                   });
    if (!result.ran)
    {
        GTEST_SKIP() << "running as root and cannot drop privileges to nobody in a child";
    }
    ASSERT_FALSE(result.ok);
    EXPECT_TRUE(contains(result.message, "without CAP_CHOWN")) << result.message;
}

TEST(AtomicFile, RefusesADirectoryOthersCanWriteAndWritesNothing)
{
    rotator::test::TempDir dir;
    const std::string shared = dir.file("shared");
    ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
    const std::string target = shared + "/astra.json";
    auto written = rotator::os::writeFileAtomically(target, "content", 0600);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().kind, rotator::core::FailureKind::Permanent);
    EXPECT_NE(written.error().message.find("writable by others"), std::string::npos);
    EXPECT_NE(written.error().message.find("chmod go-w"), std::string::npos);
    EXPECT_NE(::access(target.c_str(), F_OK), 0);
    EXPECT_FALSE(rotator::os::checkFileWritable(target, 0600));
}

TEST(AtomicFile, WritesIntoADirectoryOthersCanWriteOnlyWhenTheOptionsAllowIt)
{
    rotator::test::TempDir dir;
    const std::string shared = dir.file("shared");
    ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
    const std::string target = shared + "/port";
    rotator::os::WriteOptions options;
    options.allowSharedDirectory = true;
    const auto written = rotator::os::writeFileAtomically(target, "8443\n", 0644, options);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_TRUE(*written);
    EXPECT_EQ(rotator::test::readFile(target), "8443\n");
    EXPECT_EQ(modeOf(target), 0644U);
}

TEST(AtomicFile, RemovesTemporariesAKilledWriterLeftBehind)
{
    rotator::test::TempDir dir;
    rotator::test::writeFile(dir.file(".astra.json.tmp-0123456789abcdef"), "half a secret", 0600);
    rotator::test::writeFile(dir.file(".other.json.tmp-0123456789abcdef"), "another sink's", 0600);
    ASSERT_TRUE(rotator::os::writeFileAtomically(dir.file("astra.json"), "new\n", 0600));
    EXPECT_NE(::access(dir.file(".astra.json.tmp-0123456789abcdef").c_str(), F_OK), 0);
    EXPECT_EQ(::access(dir.file(".other.json.tmp-0123456789abcdef").c_str(), F_OK), 0)
        << "a temporary of another target was removed";
    rotator::os::removeStaleTemporaryFiles(dir.path());
    EXPECT_NE(::access(dir.file(".other.json.tmp-0123456789abcdef").c_str(), F_OK), 0);
    EXPECT_EQ(rotator::test::readFile(dir.file("astra.json")), "new\n");
}

// A FIFO swapped in between the rename and the read-back used to block the read-back's open
// forever (holding the state lock, deaf to SIGTERM). The write runs in a child with an alarm,
// so a regression fails this test instead of hanging it.
TEST(AtomicFile, AFifoSwappedInAfterTheRenameFailsTheReadBackAmbiguouslyWithoutBlocking)
{
    TempDir dir;
    const std::string path = dir.file("target");
    const auto result = runInChild(
        []
        {
            ::alarm(10);
            rotator::os::detail::setAfterRenameHookForTests(
                [](const std::string& target)
                {
                    ::unlink(target.c_str());
                    ::mkfifo(target.c_str(), 0600);
                });
            return true;
        },
        [&]() -> Outcome<bool>
        {
            auto written = writeFileAtomically(path, kSecret, 0600);
            if (!written && !written.error().ambiguous)
            {
                written.error().message = "not ambiguous: " + written.error().message;
            }
            return written;
        });
    ASSERT_TRUE(result.ran) << "the write did not return (blocked on the FIFO?)";
    ASSERT_FALSE(result.ok);
    EXPECT_TRUE(contains(result.message, "reading the file back): it is no longer the file just "
                                         "written but a FIFO"))
        << result.message;
    EXPECT_TRUE(contains(result.message, "the new file was already in place")) << result.message;
    EXPECT_FALSE(contains(result.message, "not ambiguous")) << result.message;
}

// Same bytes are not enough: the read-back must find the inode that was renamed into place.
TEST(AtomicFile, AnotherFileWithTheSameBytesSwappedInAfterTheRenameIsNoted)
{
    TempDir dir;
    const std::string path = dir.file("target");
    const HookGuard clearHook;
    rotator::os::detail::setAfterRenameHookForTests(
        [](const std::string& target)
        {
            writeFile(target + ".other", kSecret, 0600);
            ::rename((target + ".other").c_str(), target.c_str());
        });
    const auto written = writeFileAtomically(path, kSecret, 0600);
    ASSERT_FALSE(written);
    EXPECT_TRUE(written.error().ambiguous);
    EXPECT_TRUE(contains(written.error().message, "no longer the file just written but another "
                                                  "file"))
        << written.error().message;
}
