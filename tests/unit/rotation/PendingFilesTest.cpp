#include <algorithm>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "rotator/rotation/PendingFiles.h"
#include "support/TempDir.h"

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
