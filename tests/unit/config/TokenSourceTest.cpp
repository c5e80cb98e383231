#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "rotator/config/TokenSource.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"

using rotator::config::TokenSource;
using rotator::core::Secret;
using rotator::test::LogCapture;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

const std::string kOld = "AstraCS:OldOldOldOldOldOldOldOldOl:0123456789abcdef";
const std::string kNew = "AstraCS:NewNewNewNewNewNewNewNewNe:fedcba9876543210";
const std::string kKey = "astra.tokenFile";

/// Replaces `path` the way `mv` does: a new file (a new inode) renamed over it.
void replaceByRename(const TempDir& dir, const std::string& path, const std::string& content,
                     mode_t mode = 0600)
{
    const std::string staged = dir.file("staged");
    writeFile(staged, content, mode);
    ASSERT_EQ(std::rename(staged.c_str(), path.c_str()), 0);
}

/// A Kubernetes secret volume: `token -> ..data/token`, `..data -> ..<stamp>/`.
class SecretVolume
{
public:
    explicit SecretVolume(const TempDir& dir) : _dir(dir)
    {
        publish("..2026_12_03_10_00_00.1", kOld);
        EXPECT_EQ(::symlink("..data/token", path().c_str()), 0);
    }
    std::string path() const { return _dir.file("token"); }

    /// What the kubelet does on an update: a new timestamped directory, then a `..data_tmp`
    /// link to it renamed over `..data` (one atomic step), the old directory removed.
    void publish(const std::string& stamp, const std::string& token, mode_t mode = 0400)
    {
        ASSERT_EQ(::mkdir(_dir.file(stamp).c_str(), 0755), 0);
        writeFile(_dir.file(stamp + "/token"), token, mode);
        ASSERT_EQ(::symlink(stamp.c_str(), _dir.file("..data_tmp").c_str()), 0);
        ASSERT_EQ(std::rename(_dir.file("..data_tmp").c_str(), _dir.file("..data").c_str()), 0);
    }

private:
    const TempDir& _dir;
};

} // namespace

TEST(TokenSource, FollowsAFileReplacedByARename)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld + "\n", 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    EXPECT_EQ(source->current().reveal(), kOld);

    replaceByRename(dir, dir.file("token"), kNew + "\n");
    EXPECT_EQ(source->current().reveal(), kNew);
    EXPECT_EQ(source->current().reveal(), kNew);
}

TEST(TokenSource, FollowsAKubernetesSecretVolumeUpdate)
{
    TempDir dir;
    SecretVolume volume(dir);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(volume.path(), kKey, warnings);
    EXPECT_EQ(source->current().reveal(), kOld);

    volume.publish("..2026_12_03_11_00_00.2", kNew);
    EXPECT_EQ(source->current().reveal(), kNew);
}

TEST(TokenSource, ReadsTheFileAgainAtTheFirstLookWhenBuiltFromATokenReadBefore)
{
    TempDir dir;
    writeFile(dir.file("token"), kNew, 0600);
    TokenSource source(dir.file("token"), kKey, Secret(kOld));
    EXPECT_EQ(source.current().reveal(), kNew);
}

TEST(TokenSource, KeepsTheTokenInUseWhenTheReplacementIsRefusedAndWarnsWithoutTheContent)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld, 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    LogCapture log;

    replaceByRename(dir, dir.file("token"), kNew, 0644); // readable by others: refused
    EXPECT_EQ(source->current().reveal(), kOld);
    EXPECT_TRUE(log.contains(kKey)) << log.text();
    EXPECT_TRUE(log.contains("accessible by others")) << log.text();
    EXPECT_TRUE(log.contains("keeping the token in use")) << log.text();
    EXPECT_FALSE(log.contains("fedcba9876543210")) << log.text();

    // The fix (a chmod changes only the change time) is noticed.
    ASSERT_EQ(::chmod(dir.file("token").c_str(), 0600), 0);
    EXPECT_EQ(source->current().reveal(), kNew);

    replaceByRename(dir, dir.file("token"), "  \n");
    EXPECT_EQ(source->current().reveal(), kNew);
    EXPECT_TRUE(log.contains("is empty")) << log.text();

    ASSERT_EQ(::unlink(dir.file("token").c_str()), 0);
    EXPECT_EQ(source->current().reveal(), kNew);
    EXPECT_TRUE(log.contains("cannot stat token file")) << log.text();
    EXPECT_FALSE(log.contains("fedcba9876543210")) << log.text();
}

TEST(TokenSource, ReplacementForTellsWhetherTheFileHoldsAnotherToken)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld, 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    EXPECT_FALSE(source->replacementFor(Secret(kOld)));
    replaceByRename(dir, dir.file("token"), kNew);
    const auto replacement = source->replacementFor(Secret(kOld));
    ASSERT_TRUE(replacement);
    EXPECT_EQ(replacement->reveal(), kNew);
    EXPECT_EQ(source->current().reveal(), kNew);
    EXPECT_FALSE(source->replacementFor(Secret(kNew)));
}

// Two workers sent the old token; the first to look after the file changed took the new one.
// The other's 401 still finds a replacement for the token it sent.
TEST(TokenSource, ReplacementForCountsATokenAnotherLookAlreadyTook)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld, 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    const Secret sent = source->current();
    replaceByRename(dir, dir.file("token"), kNew);
    EXPECT_EQ(source->current().reveal(), kNew); // the other worker's look

    const auto replacement = source->replacementFor(sent);
    ASSERT_TRUE(replacement);
    EXPECT_EQ(replacement->reveal(), kNew);
}

TEST(TokenSource, KnowsTheClientIdOfTheTokenInUseAndComparesWithIt)
{
    const std::string oldToken = "AstraCS:AaaaaaaaaaaaaaaaaaaaaaaA:0123456789abcdef";
    const std::string newToken = "AstraCS:BbbbbbbbbbbbbbbbbbbbbbbB:fedcba9876543210";
    TempDir dir;
    writeFile(dir.file("token"), oldToken, 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    EXPECT_EQ(source->clientId(), "AaaaaaaaaaaaaaaaaaaaaaaA");
    EXPECT_TRUE(source->matches(oldToken));
    EXPECT_FALSE(source->matches(newToken));
    EXPECT_FALSE(source->matches(oldToken.substr(0, oldToken.size() - 1)));

    replaceByRename(dir, dir.file("token"), newToken);
    EXPECT_EQ(source->clientId(), "BbbbbbbbbbbbbbbbbbbbbbbB");
    replaceByRename(dir, dir.file("token"), oldToken);
    EXPECT_TRUE(source->matches(oldToken));
    replaceByRename(dir, dir.file("token"), newToken);
    EXPECT_FALSE(source->matches(oldToken));
    EXPECT_TRUE(source->matches(newToken));

    EXPECT_EQ(TokenSource(Secret("not a token")).clientId(), "");
}

TEST(TokenSource, AFixedTokenNeverChanges)
{
    TokenSource source{Secret(kOld)};
    EXPECT_FALSE(source.replacementFor(Secret(kNew)));
    EXPECT_EQ(source.current().reveal(), kOld);
}

TEST(TokenSource, ConcurrentReadersSeeTheOldOrTheNewTokenAndThenTheNewOne)
{
    TempDir dir;
    SecretVolume volume(dir);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(volume.path(), kKey, warnings);

    std::atomic<bool> swapped{false};
    std::atomic<int> torn{0};
    std::atomic<int> staleAfterSwap{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i)
    {
        readers.emplace_back(
            [&]
            {
                for (int n = 0; n < 2000; ++n)
                {
                    const bool after = swapped.load();
                    const std::string token = source->current().reveal();
                    if (token != kOld && token != kNew)
                    {
                        ++torn;
                    }
                    if (after && token != kNew)
                    {
                        ++staleAfterSwap;
                    }
                }
            });
    }
    volume.publish("..2026_12_03_11_00_00.2", kNew);
    swapped = true;
    for (auto& t : readers)
    {
        t.join();
    }
    EXPECT_EQ(torn.load(), 0);
    EXPECT_EQ(staleAfterSwap.load(), 0);
    EXPECT_EQ(source->current().reveal(), kNew);
}

// Self-rotation: the token it wrote (or found in a pending file) is used at once, the file as
// it is now is not read again, and a later replacement still is.
TEST(TokenSource, AdoptsATokenAtOnceAndGoesOnFollowingTheFile)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld + "\n", 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    source->adopt(Secret(kNew));
    EXPECT_EQ(source->current().reveal(), kNew) << "the unchanged file is not read again";

    replaceByRename(dir, dir.file("token"), kOld + "\n");
    EXPECT_EQ(source->current().reveal(), kOld);

    TokenSource fixed{Secret(kOld)};
    fixed.adopt(Secret(kNew));
    EXPECT_EQ(fixed.current().reveal(), kNew);
}

// The token file sink writes the new token, someone replaces the file again before the sink
// adopts what it wrote: the replacement is read at the next look, not hidden by the adoption.
TEST(TokenSource, ReadsAReplacementWrittenBeforeTheAdoptionAtTheNextLook)
{
    TempDir dir;
    writeFile(dir.file("token"), kOld + "\n", 0600);
    std::vector<std::string> warnings;
    auto source = TokenSource::follow(dir.file("token"), kKey, warnings);
    replaceByRename(dir, dir.file("token"), kNew + "\n"); // the rotator's write
    // Someone else's, before the adopt; its size differs from the file first read, so the look
    // sees a change even if the inode number and the (coarse) times come out the same.
    replaceByRename(dir, dir.file("token"), kOld);
    source->adopt(Secret(kNew));
    EXPECT_EQ(source->current().reveal(), kOld);
}
