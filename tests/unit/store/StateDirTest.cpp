#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Errors.h"
#include "rotator/store/StateDir.h"
#include "support/OtherUser.h"
#include "support/SystemProbes.h"
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

namespace
{

/// The ConfigError `prepare()` throws for `path`, checked for the key; empty when it passed.
std::string refusal(const std::string& path)
{
    try
    {
        store::StateDir(path).prepare();
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "state.dir");
        return e.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

} // namespace

// Another user pre-creates the state directory (and a journal) where the rotator will look:
// that user could edit the journal and make the rotator revoke any client.
TEST(StateDir, RefusesAStateDirectoryAnotherUserCreatedBeforeUs)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << test::kNeedsRoot;
    }
    test::TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const std::string shared = dir.file("tmp"); // a root-owned sticky directory like /var/tmp
    ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
    const std::string path = shared + "/state";
    ASSERT_EQ(test::runAsOtherUser(
                  [&]
                  {
                      return ::mkdir(path.c_str(), 0700) == 0 &&
                                     ::close(::creat((path + "/rotator.db").c_str(), 0600)) == 0
                                 ? 0
                                 : 1;
                  }),
              0);
    const std::string message = refusal(path);
    EXPECT_TRUE(contains(message, "state.dir: state directory " + path + " (owner uid 65534"))
        << message;
    EXPECT_TRUE(contains(message, "mode 0700) does not belong to the rotator's user")) << message;
    EXPECT_TRUE(contains(message, "remove it")) << message;
    EXPECT_TRUE(test::listDir(path) == std::vector<std::string>{"rotator.db"}) << "untouched";
}

TEST(StateDir, RefusesALinkAGroupWritableDirectoryAndAnUntrustedParent)
{
    test::TempDir dir;
    ASSERT_EQ(::mkdir(dir.file("real").c_str(), 0700), 0);
    ASSERT_EQ(::symlink("real", dir.file("link").c_str()), 0);
    EXPECT_TRUE(contains(refusal(dir.file("link")),
                         "state directory " + dir.file("link") + " is a symbolic link"));

    ASSERT_EQ(::mkdir(dir.file("group").c_str(), 0700), 0);
    ASSERT_EQ(::chmod(dir.file("group").c_str(), 0770), 0);
    EXPECT_TRUE(contains(refusal(dir.file("group")), "mode 0770) is writable by its group"));
    EXPECT_TRUE(test::listDir(dir.file("group")).empty());

    ASSERT_EQ(::chmod(dir.file("group").c_str(), 0775), 0);
    const std::string below = refusal(dir.file("group/state"));
    EXPECT_TRUE(contains(below, "directory " + dir.file("group") + " (owner")) << below;
    EXPECT_TRUE(test::listDir(dir.file("group")).empty());
}

TEST(StateDir, RefusesADatabaseOrLockFileOthersCanWriteOrThatIsALink)
{
    test::TempDir dir;
    const std::string path = dir.file("state");
    store::StateDir(path).prepare();
    test::writeFile(path + "/rotator.db", "", 0600);
    ASSERT_EQ(::chmod((path + "/rotator.db").c_str(), 0606), 0);
    EXPECT_TRUE(contains(refusal(path), "file " + path + "/rotator.db (owner uid"));
    ASSERT_EQ(::chmod((path + "/rotator.db").c_str(), 0600), 0);
    ASSERT_EQ(::symlink("/etc/passwd", (path + "/rotator.db-wal").c_str()), 0);
    EXPECT_TRUE(contains(refusal(path), path + "/rotator.db-wal is a symbolic link"));
    ASSERT_EQ(::unlink((path + "/rotator.db-wal").c_str()), 0);
    EXPECT_EQ(refusal(path), "");
}
