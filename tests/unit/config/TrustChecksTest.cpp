#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "rotator/config/SettingsLoader.h"
#include "rotator/config/TrustChecks.h"
#include "rotator/core/Errors.h"
#include "support/OtherUser.h"
#include "support/TempDir.h"

using rotator::config::checkTrustedInputs;
using rotator::config::Settings;
using rotator::config::SinkSettings;
using rotator::config::SinkType;
using rotator::core::ConfigError;
using rotator::test::kNeedsRoot;
using rotator::test::kOtherUid;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// The ConfigError `check` throws as "key|message"; empty when it passes.
template <typename Check> std::string refusal(Check check)
{
    try
    {
        check();
    }
    catch (const ConfigError& e)
    {
        return e.key() + "|" + e.what();
    }
    return "";
}

Settings withHook(const std::string& program)
{
    Settings settings;
    SinkSettings hook;
    hook.name = "hook";
    hook.type = SinkType::Exec;
    hook.command = {program, "--flag"};
    settings.sinks.push_back(hook);
    return settings;
}

SinkSettings fileSink(const std::string& name, const std::string& path)
{
    SinkSettings sink;
    sink.name = name;
    sink.type = SinkType::File;
    sink.path = path;
    return sink;
}

} // namespace

TEST(TrustChecks, RefusesAHookProgramOthersCanChangeNamingTheKeyAndTheFix)
{
    TempDir dir;
    writeFile(dir.file("hook.sh"), "#!/bin/sh\n", 0755);
    EXPECT_EQ(refusal([&] { checkTrustedInputs(withHook(dir.file("hook.sh"))); }), "");

    ASSERT_EQ(::chmod(dir.file("hook.sh").c_str(), 0775), 0);
    const std::string writable =
        refusal([&] { checkTrustedInputs(withHook(dir.file("hook.sh"))); });
    EXPECT_EQ(
        writable.rfind("sinks.hook.command|sinks.hook.command: file " + dir.file("hook.sh"), 0), 0U)
        << writable;
    EXPECT_TRUE(contains(writable, "chmod go-w " + dir.file("hook.sh"))) << writable;

    // A directory above it that its group can write: the program could be swapped.
    ASSERT_EQ(::chmod(dir.file("hook.sh").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(dir.file("bin").c_str(), 0775), 0);
    ASSERT_EQ(::chmod(dir.file("bin").c_str(), 0775), 0);
    writeFile(dir.file("bin/hook"), "#!/bin/sh\n", 0755);
    const std::string above = refusal([&] { checkTrustedInputs(withHook(dir.file("bin/hook"))); });
    EXPECT_TRUE(contains(above, "directory " + dir.file("bin") + " (owner")) << above;
    EXPECT_TRUE(contains(above, "chmod go-w " + dir.file("bin"))) << above;
}

TEST(TrustChecks, RefusesACaFileAnotherUserOwnsOrOthersCanWrite)
{
    TempDir dir;
    writeFile(dir.file("ca.pem"), "pem\n", 0664);
    Settings settings;
    settings.astra.caFile = dir.file("ca.pem");
    const std::string writable = refusal([&] { checkTrustedInputs(settings); });
    EXPECT_EQ(writable.rfind("astra.caFile|", 0), 0U) << writable;
    EXPECT_TRUE(contains(writable, "mode 0664) is writable by its group")) << writable;

    ASSERT_EQ(::chmod(dir.file("ca.pem").c_str(), 0644), 0);
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "");
    if (::geteuid() == 0)
    {
        ASSERT_EQ(::chown(dir.file("ca.pem").c_str(), kOtherUid, 0), 0);
        const std::string foreign = refusal([&] { checkTrustedInputs(settings); });
        EXPECT_TRUE(contains(foreign, "belongs to a user the rotator does not trust")) << foreign;
    }
}

TEST(TrustChecks, RefusesTheCaFileOfAnAwsSinkThatOthersCanWrite)
{
    TempDir dir;
    writeFile(dir.file("ca.pem"), "pem\n", 0666);
    Settings settings;
    settings.sinks.emplace_back();
    settings.sinks.back().name = "sm";
    settings.sinks.back().type = rotator::config::SinkType::AwsSecretsManager;
    settings.sinks.back().caFile = dir.file("ca.pem");
    const std::string refused = refusal([&] { checkTrustedInputs(settings); });
    EXPECT_EQ(refused.rfind("sinks.sm.caFile|", 0), 0U) << refused;
    ASSERT_EQ(::chmod(dir.file("ca.pem").c_str(), 0644), 0);
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "");
}

TEST(TrustChecks, RefusesAConfigurationFileOthersCanChange)
{
    TempDir dir;
    writeFile(dir.file("rotator.properties"), "state.dir = " + dir.file("state") + "\n", 0664);
    const std::string writable =
        refusal([&] { rotator::config::loadSettingsFile(dir.file("rotator.properties")); });
    EXPECT_EQ(writable.rfind("|configuration file " + dir.file("rotator.properties") +
                                 " (--config): file ",
                             0),
              0U)
        << writable;
    EXPECT_TRUE(contains(writable, "chmod go-w " + dir.file("rotator.properties"))) << writable;

    ASSERT_EQ(::chmod(dir.file("rotator.properties").c_str(), 0644), 0);
    EXPECT_EQ(refusal([&] { rotator::config::loadSettingsFile(dir.file("rotator.properties")); }),
              "");
}

// The token file read through a linked directory (as a Kubernetes volume is) and a sink that
// names its real directory are one file: the loader's path compare cannot see it.
namespace
{

/// `astra.tokenFile` is `linked/admin.token`, and `linked` a link to `secrets`.
void tokenFileBehindALink(TempDir& dir, Settings& settings)
{
    ASSERT_EQ(::mkdir(dir.file("secrets").c_str(), 0700), 0);
    ASSERT_EQ(::symlink("secrets", dir.file("linked").c_str()), 0);
    writeFile(dir.file("secrets/admin.token"), "AstraCS:admin\n", 0600);
    settings.astra.tokenFile = dir.file("linked/admin.token");
}

} // namespace

TEST(TrustChecks, RefusesAFileSinkThatWritesTheAdminTokenFileUnderAnotherName)
{
    TempDir dir;
    Settings settings;
    ASSERT_NO_FATAL_FAILURE(tokenFileBehindALink(dir, settings));
    settings.sinks = {fileSink("app", dir.file("secrets/admin.token"))};
    const std::string refused = refusal([&] { checkTrustedInputs(settings); });
    EXPECT_EQ(refused.rfind("sinks.app.path|", 0), 0U) << refused;
    EXPECT_TRUE(contains(refused, "is astra.tokenFile")) << refused;
    EXPECT_TRUE(contains(refused, "astra.selfRotation")) << refused;
    EXPECT_TRUE(contains(refused, "astra.selfRotation.maxAge")) << refused;

    settings.sinks = {fileSink("app", dir.file("secrets/app.token"))};
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "");

    // A token file that is itself a link (a Kubernetes volume's file is one) is the file it
    // resolves to, which a sink naming that file would replace.
    ASSERT_EQ(::symlink("secrets/admin.token", dir.file("admin.token").c_str()), 0);
    settings.astra.tokenFile = dir.file("admin.token");
    settings.sinks = {fileSink("app", dir.file("secrets/admin.token"))};
    const std::string resolved = refusal([&] { checkTrustedInputs(settings); });
    EXPECT_EQ(resolved.rfind("sinks.app.path|", 0), 0U) << resolved;
    EXPECT_TRUE(contains(resolved, "is astra.tokenFile")) << resolved;
}

TEST(TrustChecks, LetsSelfRotationWriteTheAdminTokenFileThroughItsOwnSinkOnly)
{
    TempDir dir;
    Settings settings;
    ASSERT_NO_FATAL_FAILURE(tokenFileBehindALink(dir, settings));
    settings.sinks = {fileSink(rotator::config::kTokenFileSink, dir.file("linked/admin.token"))};
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "");
    settings.sinks.push_back(fileSink("app", dir.file("secrets/admin.token")));
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }).rfind("sinks.app.path|", 0), 0U);
}

TEST(TrustChecks, RefusesTheAdminApisBearerInTheTokenFileThatSelfRotationRewrites)
{
    TempDir dir;
    Settings settings;
    ASSERT_NO_FATAL_FAILURE(tokenFileBehindALink(dir, settings));
    settings.admin.tokenFile = dir.file("secrets/admin.token"); // the same file, another name
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "")
        << "without self-rotation the file never changes under the admin API";

    rotator::config::CredentialSettings admin;
    admin.name = rotator::config::kAdminCredential;
    admin.adminToken = true;
    settings.credentials = {admin};
    const std::string refused = refusal([&] { checkTrustedInputs(settings); });
    EXPECT_EQ(refused.rfind("admin.tokenFile|", 0), 0U) << refused;
    EXPECT_TRUE(contains(refused, "is astra.tokenFile")) << refused;
    EXPECT_TRUE(contains(refused, "a token of its own")) << refused;

    writeFile(dir.file("secrets/bearer.token"), "a-bearer-of-its-own\n", 0600);
    settings.admin.tokenFile = dir.file("secrets/bearer.token");
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "");
}

// Two names for one directory (here a bind mount) must not let two sinks write one file.
TEST(TrustChecks, RefusesTwoFileSinksWhoseDirectoriesAreTheSameThroughABindMount)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << kNeedsRoot;
    }
    TempDir dir;
    ASSERT_EQ(::mkdir(dir.file("a").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(dir.file("b").c_str(), 0755), 0);
    Settings settings;
    settings.sinks = {fileSink("first", dir.file("a/astra.json")),
                      fileSink("second", dir.file("b/astra.json"))};
    EXPECT_EQ(refusal([&] { checkTrustedInputs(settings); }), "") << "distinct directories";

    // In a child with a mount namespace of its own, so the bind mount never outlives it.
    const pid_t pid = ::fork();
    if (pid == 0)
    {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(dir.file("a").c_str(), dir.file("b").c_str(), nullptr, MS_BIND, nullptr) != 0)
        {
            ::_exit(77);
        }
        const std::string message = refusal([&] { checkTrustedInputs(settings); });
        ::_exit(message.rfind("sinks.second.path|", 0) == 0 &&
                        contains(message, "already written by sink \"first\"")
                    ? 0
                    : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
    {
        GTEST_SKIP() << "cannot create a mount namespace here (needs CAP_SYS_ADMIN)";
    }
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the aliased sinks were not refused";
}
