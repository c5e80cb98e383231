#include <gtest/gtest.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
#include "support/TempDir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

using rotator::config::loadAdminToken;
using rotator::config::readTokenFile;
using rotator::config::Settings;
using rotator::core::ConfigError;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

const std::string kToken = "AstraCS:AbCdEfGhIjKlMnOpQrStUvWx:0123456789abcdef";
const std::string kKey = "astra.tokenFile";

/// The message of the ConfigError `readTokenFile` throws, checked for key and secrecy.
std::string errorFor(const std::string& path)
{
    std::vector<std::string> warnings;
    try
    {
        readTokenFile(path, kKey, warnings);
    }
    catch (const ConfigError& e)
    {
        const std::string message = e.what();
        EXPECT_EQ(e.key(), kKey);
        EXPECT_EQ(message.find(kToken), std::string::npos) << "the token leaked: " << message;
        EXPECT_EQ(message.find("0123456789abcdef"), std::string::npos) << message;
        return message;
    }
    ADD_FAILURE() << "accepted " << path;
    return "";
}

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

} // namespace

TEST(TokenFile, ReadsAnOwnerOnlyFileAndTrimsIt)
{
    TempDir dir;
    writeFile(dir.file("t"), "  \n" + kToken + "\r\n\n", 0600);
    std::vector<std::string> warnings;
    EXPECT_EQ(readTokenFile(dir.file("t"), kKey, warnings).reveal(), kToken);
    EXPECT_TRUE(warnings.empty());
}

TEST(TokenFile, RejectsAWorldReadableFileNamingTheKeyAndTheFix)
{
    TempDir dir;
    writeFile(dir.file("t"), kToken, 0644);
    const std::string message = errorFor(dir.file("t"));
    EXPECT_TRUE(contains(message, "astra.tokenFile: ")) << message;
    EXPECT_TRUE(contains(message, dir.file("t"))) << message;
    EXPECT_TRUE(contains(message, "mode 0644")) << message;
    EXPECT_TRUE(contains(message, "chmod 600 " + dir.file("t"))) << message;
}

TEST(TokenFile, RejectsAWorldWritableOrGroupWritableFile)
{
    TempDir dir;
    writeFile(dir.file("w"), kToken, 0602);
    EXPECT_TRUE(contains(errorFor(dir.file("w")), "accessible by others"));
    writeFile(dir.file("g"), kToken, 0620);
    EXPECT_TRUE(contains(errorFor(dir.file("g")), "writable by its group"));
}

TEST(TokenFile, WarnsAboutAGroupReadableFile)
{
    TempDir dir;
    writeFile(dir.file("t"), kToken, 0640);
    std::vector<std::string> warnings;
    EXPECT_EQ(readTokenFile(dir.file("t"), kKey, warnings).reveal(), kToken);
    ASSERT_EQ(warnings.size(), 1U);
    EXPECT_TRUE(contains(warnings[0], "astra.tokenFile: ")) << warnings[0];
    EXPECT_TRUE(contains(warnings[0], "readable by its group (mode 0640)")) << warnings[0];
    EXPECT_FALSE(contains(warnings[0], kToken));
}

TEST(TokenFile, FollowsASymlinkToAnOwnerReadOnlyFile)
{
    // The shape of a Kubernetes secret volume: token -> ..data/token -> ..2024_01_01/token.
    TempDir dir;
    ASSERT_EQ(::mkdir(dir.file("..2024").c_str(), 0755), 0);
    writeFile(dir.file("..2024/token"), kToken + "\n", 0400);
    ASSERT_EQ(::symlink("..2024", dir.file("..data").c_str()), 0);
    ASSERT_EQ(::symlink("..data/token", dir.file("token").c_str()), 0);
    std::vector<std::string> warnings;
    EXPECT_EQ(readTokenFile(dir.file("token"), kKey, warnings).reveal(), kToken);
    EXPECT_TRUE(warnings.empty());
}

TEST(TokenFile, SuggestsDefaultModeForAWorldReadableSymlinkedFile)
{
    TempDir dir;
    writeFile(dir.file("real"), kToken, 0644);
    ASSERT_EQ(::symlink("real", dir.file("token").c_str()), 0);
    EXPECT_TRUE(contains(errorFor(dir.file("token")), "defaultMode: 0440"));
    // The in-cluster service account token is such a file (a kubernetes sink's default).
    EXPECT_TRUE(contains(errorFor(dir.file("token")),
                         "mount a projected serviceAccountToken with defaultMode 0400"));
}

TEST(TokenFile, RejectsAnEmptyOrBlankFile)
{
    TempDir dir;
    writeFile(dir.file("empty"), "", 0600);
    EXPECT_TRUE(contains(errorFor(dir.file("empty")), "is empty"));
    writeFile(dir.file("blank"), " \n\t\n", 0600);
    EXPECT_TRUE(contains(errorFor(dir.file("blank")), "is empty"));
}

TEST(TokenFile, RejectsAFileWithMoreThanTheTokenWithoutQuotingIt)
{
    TempDir dir;
    writeFile(dir.file("env"), "ASTRA_DB_APPLICATION_TOKEN=" + kToken + "\nOTHER=1\n", 0600);
    EXPECT_TRUE(contains(errorFor(dir.file("env")), "alone on one line"));
    writeFile(dir.file("big"), std::string(70 * 1024, 'a'), 0600);
    EXPECT_TRUE(contains(errorFor(dir.file("big")), "larger than 64 KiB"));
}

TEST(TokenFile, RejectsAMissingFileADirectoryAndAnUnreadableFile)
{
    TempDir dir;
    const std::string missing = errorFor(dir.file("missing"));
    EXPECT_TRUE(contains(missing, dir.file("missing")));
    EXPECT_TRUE(contains(missing, "No such file or directory"));
    EXPECT_TRUE(contains(errorFor(dir.path()), "not a regular file"));
    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
    EXPECT_TRUE(contains(errorFor(dir.file("fifo")), "not a regular file"));
    if (::geteuid() != 0)
    {
        writeFile(dir.file("locked"), kToken, 0000);
        EXPECT_TRUE(contains(errorFor(dir.file("locked")), "Permission denied"));
    }
}

TEST(TokenFile, AdminTokenComesFromTheFileThenTheEnvironment)
{
    TempDir dir;
    writeFile(dir.file("t"), kToken + "\n", 0600);
    std::map<std::string, std::string> env{{"ASTRA_TOKEN", " AstraCS:env:1 \n"}};
    const auto getenv = [&](const char* name) -> const char*
    {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    };
    std::vector<std::string> warnings;
    Settings settings;
    settings.astra.tokenFile = dir.file("t");
    EXPECT_EQ(loadAdminToken(settings, getenv, warnings).reveal(), kToken);
    settings.astra.tokenFile.clear();
    EXPECT_EQ(loadAdminToken(settings, getenv, warnings).reveal(), "AstraCS:env:1");
    env.clear();
    try
    {
        loadAdminToken(settings, getenv, warnings);
        FAIL() << "no ConfigError";
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "astra.tokenFile");
        EXPECT_STREQ(e.what(),
                     "astra.tokenFile: no admin token: set astra.tokenFile or ASTRA_TOKEN");
    }
    env["ASTRA_TOKEN"] = "";
    EXPECT_THROW(loadAdminToken(settings, getenv, warnings), ConfigError);
}

TEST(TokenFile, NoMessageEverContainsTheToken)
{
    TempDir dir;
    for (unsigned mode : {0644U, 0666U, 0604U, 0620U, 0640U, 0600U})
    {
        writeFile(dir.file("t"), kToken + "\n", mode);
        std::vector<std::string> warnings;
        try
        {
            readTokenFile(dir.file("t"), kKey, warnings);
        }
        catch (const ConfigError& e)
        {
            EXPECT_FALSE(contains(e.what(), kToken)) << e.what();
        }
        for (const auto& w : warnings)
        {
            EXPECT_FALSE(contains(w, kToken)) << w;
        }
    }
    writeFile(dir.file("two"), kToken + " " + kToken, 0600);
    errorFor(dir.file("two"));
}

// Whoever may replace the token file could hand the rotator a token of their choosing.
TEST(TokenFile, RejectsAFileAnotherUserOwnsOrInADirectoryOthersCanChange)
{
    TempDir dir;
    ASSERT_EQ(::mkdir(dir.file("shared").c_str(), 0770), 0);
    ASSERT_EQ(::chmod(dir.file("shared").c_str(), 0770), 0);
    writeFile(dir.file("shared/t"), kToken, 0600);
    const std::string shared = errorFor(dir.file("shared/t"));
    EXPECT_TRUE(contains(shared, "directory " + dir.file("shared") + " (owner")) << shared;
    EXPECT_TRUE(contains(shared, "is writable by its group")) << shared;

    if (::geteuid() == 0)
    {
        writeFile(dir.file("t"), kToken, 0600);
        ASSERT_EQ(::chown(dir.file("t").c_str(), 65534, 65534), 0);
        const std::string foreign = errorFor(dir.file("t"));
        EXPECT_TRUE(contains(foreign, "file " + dir.file("t") + " (owner uid 65534")) << foreign;
        EXPECT_TRUE(contains(foreign, "chown root " + dir.file("t"))) << foreign;
    }
}
