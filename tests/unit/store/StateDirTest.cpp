#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Errors.h"
#include "rotator/store/StateDir.h"
#include "support/TempDir.h"

using namespace rotator;

TEST(StateDir, CreatesPrivateDirectoriesAndTightensALooseOne)
{
    test::TempDir dir;
    const std::string path = dir.file("state");
    ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
    store::StateDir state(path);
    state.prepare();
    struct stat st
    {
    };
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat(state.pendingDir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(StateDir, ASecondWriterIsRefusedWithTheHoldersPid)
{
    test::TempDir dir;
    store::StateDir first(dir.file("state"));
    first.prepare();
    first.lock();
    store::StateDir second(dir.file("state"));
    try
    {
        second.lock();
        FAIL() << "a second lock was granted";
    }
    catch (const core::StoreError& e)
    {
        const std::string message = e.what();
        EXPECT_NE(message.find("another astra-rotator (pid " + std::to_string(::getpid()) + ")"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find(dir.file("state")), std::string::npos);
    }
    EXPECT_FALSE(second.locked());
}

TEST(StateDir, TheLockIsReleasedWithItsOwner)
{
    test::TempDir dir;
    {
        store::StateDir first(dir.file("state"));
        first.prepare();
        first.lock();
    }
    store::StateDir second(dir.file("state"));
    EXPECT_NO_THROW(second.lock());
    EXPECT_TRUE(second.locked());
}
