#include <algorithm>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "rotator/rotation/PendingFiles.h"
#include "support/TempDir.h"
#include "unit/sink/SinkTestSupport.h"

namespace
{

using namespace rotator;

TEST(PendingFiles, ListsOnlyItsOwnRotationFilesAndLeavesOtherNamesAlone)
{
    test::TempDir dir;
    ::mkdir(dir.file("pending").c_str(), 0700);
    for (const char* name : {"7.json", "12.json", "x.json", "7x.json", ".json", "-3.json", "0.json",
                             "99999999999999999999999.json", "8.json.tmp", "notes"})
    {
        test::writeFile(dir.file(std::string("pending/") + name), "{}", 0600);
    }
    auto ids = rotation::PendingFiles(dir.file("pending")).list();
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::int64_t>{7, 12}));
}

} // namespace

namespace
{

using namespace rotator;

// Only a file the rotator wrote holds a secret it minted: one another user owns, others can
// write, or a link is not read as a credential.
TEST(PendingFiles, ReadsOnlyAFileOfItsOwnThatNobodyElseCanWrite)
{
    test::TempDir dir;
    ::mkdir(dir.file("pending").c_str(), 0700);
    rotation::PendingFiles files(dir.file("pending"));
    ASSERT_TRUE(files.write(7, sinktest::makeTestCredential()));
    ASSERT_TRUE(files.read(7, "billing"));

    const std::string path = dir.file("pending/7.json");
    ASSERT_EQ(::chmod(path.c_str(), 0620), 0);
    EXPECT_FALSE(files.read(7, "billing"));
    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);

    ASSERT_EQ(::symlink("7.json", dir.file("pending/8.json").c_str()), 0);
    EXPECT_FALSE(files.read(8, "billing"));

    // A second name would keep the secret after the rotator removes the pending file.
    ASSERT_EQ(::link(path.c_str(), dir.file("pending/9.json").c_str()), 0);
    EXPECT_FALSE(files.read(7, "billing"));
    EXPECT_FALSE(files.read(9, "billing"));
    ASSERT_EQ(::unlink(dir.file("pending/9.json").c_str()), 0);
    EXPECT_TRUE(files.read(7, "billing"));

    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
        EXPECT_FALSE(files.read(7, "billing"));
    }
}

} // namespace
