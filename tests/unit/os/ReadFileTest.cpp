#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "rotator/os/ReadFile.h"
#include "rotator/os/UniqueFd.h"
#include "support/TempDir.h"

using rotator::os::entryNames;
using rotator::os::readFile;
using rotator::os::readUpTo;
using rotator::os::UniqueFd;
using rotator::test::TempDir;
using rotator::test::writeFile;

TEST(ReadFile, ReadsAWholeFileLargerThanOneRead)
{
    TempDir dir;
    std::string content;
    for (int i = 0; i < 20000; ++i)
    {
        content += static_cast<char>('a' + i % 26);
    }
    writeFile(dir.file("f"), content);
    std::string out = "old content";
    ASSERT_EQ(readFile(dir.file("f"), out), 0);
    EXPECT_EQ(out, content);
}

TEST(ReadFile, ReportsAMissingFileAsEnoentWithNothingRead)
{
    TempDir dir;
    std::string out = "old content";
    EXPECT_EQ(readFile(dir.file("missing"), out), ENOENT);
    EXPECT_TRUE(out.empty());
}

TEST(ReadFile, StopsAtTheLimit)
{
    TempDir dir;
    writeFile(dir.file("f"), "0123456789");
    std::string out;
    ASSERT_EQ(readFile(dir.file("f"), out, 4), 0);
    EXPECT_EQ(out, "0123");
    ASSERT_EQ(readFile(dir.file("f"), out, 11), 0);
    EXPECT_EQ(out, "0123456789");
}

TEST(ReadFile, PassesOpenFlagsSoASymlinkCanBeRefused)
{
    TempDir dir;
    writeFile(dir.file("real"), "content");
    ASSERT_EQ(::symlink(dir.file("real").c_str(), dir.file("link").c_str()), 0);
    std::string out;
    EXPECT_EQ(readFile(dir.file("link"), out, rotator::os::kNoReadLimit, O_NOFOLLOW), ELOOP);
    ASSERT_EQ(readFile(dir.file("link"), out), 0);
    EXPECT_EQ(out, "content");
}

TEST(ReadFile, ReadsAPipeWhoseSizeIsUnknownUpFrontToItsEnd)
{
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    const std::string content(50000, 'p'); // fits into the pipe, so no writer thread is needed
    ASSERT_EQ(::write(writeEnd.get(), content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    writeEnd.reset();
    std::string out;
    ASSERT_EQ(readUpTo(readEnd.get(), rotator::os::kNoReadLimit, out), 0);
    EXPECT_EQ(out, content);
}

TEST(ReadFile, ReportsAFailedReadAndLeavesNothingBehind)
{
    TempDir dir;
    // A directory opens read-only but cannot be read: EISDIR from read(2).
    UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(fd.valid());
    std::string out = "old content";
    EXPECT_EQ(readUpTo(fd.get(), 100, out), EISDIR);
    EXPECT_TRUE(out.empty());
}

namespace
{

/// The descriptor the next open would get: one more left open moves it.
int lowestFreeDescriptor()
{
    const int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 0);
    ::close(fd);
    return fd;
}

} // namespace

// Each listing reads the whole directory (the duplicate shares the offset an earlier one left
// at the end), and one that cannot list (a file, not a directory) closes its duplicate too.
TEST(EntryNames, ListsAnOpenDirectoryEachTimeAndLeavesNoDescriptorBehind)
{
    TempDir dir;
    writeFile(dir.file("a"), "");
    writeFile(dir.file("b"), "");
    const UniqueFd dirFd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dirFd.valid());
    const int free = lowestFreeDescriptor();
    for (int i = 0; i < 2; ++i)
    {
        auto names = entryNames(dirFd.get());
        std::sort(names.begin(), names.end());
        EXPECT_EQ(names, (std::vector<std::string>{"a", "b"})) << "listing " << i;
    }
    EXPECT_EQ(lowestFreeDescriptor(), free);

    const UniqueFd file(::open(dir.file("a").c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.valid());
    const int freeAfterFile = lowestFreeDescriptor();
    EXPECT_TRUE(entryNames(file.get()).empty());
    EXPECT_EQ(lowestFreeDescriptor(), freeAfterFile) << "the duplicate leaked";
}
