#include <gtest/gtest.h>

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "rotator/os/UniqueFd.h"

using rotator::os::UniqueFd;

namespace
{

bool isOpen(int fd)
{
    return ::fcntl(fd, F_GETFD) != -1;
}

int openNull()
{
    return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

} // namespace

TEST(UniqueFd, ClosesItsDescriptorWhenDestroyed)
{
    int raw = -1;
    {
        const UniqueFd fd(openNull());
        raw = fd.get();
        ASSERT_TRUE(fd.valid());
        EXPECT_TRUE(isOpen(raw));
    }
    EXPECT_FALSE(isOpen(raw));
}

TEST(UniqueFd, MovesOwnershipAndClosesOnlyOnce)
{
    UniqueFd first(openNull());
    const int raw = first.get();
    UniqueFd second(std::move(first));
    EXPECT_FALSE(first.valid()); // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(second.get(), raw);
    UniqueFd third;
    third = std::move(second);
    EXPECT_EQ(third.get(), raw);
    EXPECT_TRUE(isOpen(raw));
    EXPECT_EQ(third.reset(), 0);
    EXPECT_FALSE(isOpen(raw));
    EXPECT_FALSE(third.valid());
}

TEST(UniqueFd, ReleaseGivesTheDescriptorUpWithoutClosingIt)
{
    UniqueFd fd(openNull());
    const int raw = fd.release();
    EXPECT_FALSE(fd.valid());
    EXPECT_TRUE(isOpen(raw));
    ::close(raw);
}

TEST(UniqueFd, ResetReportsTheErrnoOfAFailedClose)
{
    // A descriptor number that is not open: close() fails with EBADF.
    const int raw = openNull();
    ASSERT_EQ(::close(raw), 0);
    UniqueFd fd(raw);
    EXPECT_EQ(fd.reset(), EBADF);
}
