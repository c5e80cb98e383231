// The built `astra-rotator` refusing, at check-config and at start-up, files that someone other
// than root or its own user could change (exit 78, the key, the file and the fix on stderr).

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "support/OtherUser.h"
#include "support/ProcessRunner.h"
#include "support/TempDir.h"

namespace
{

using namespace std::chrono_literals;
using rotator::test::runProcess;
using rotator::test::TempDir;
using rotator::test::writeFile;

const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";
constexpr int kExitConfig = 78;

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// A configuration that is valid offline (nothing listens at the URL: nothing is called before
/// the checks fail), with `extra` lines; returns its path.
std::string writeConfig(const TempDir& dir, const std::string& extra, unsigned mode = 0600)
{
    writeFile(dir.file("admin.token"), "AstraCS:abc:def\n", 0600);
    const std::string path = dir.file("rotator.properties");
    writeFile(path,
              "astra.url = https://127.0.0.1:9\n"
              "astra.tokenFile = " +
                  dir.file("admin.token") + "\nstate.dir = " + dir.file("state") + "\n" + extra,
              mode);
    return path;
}

rotator::test::ProcessResult run(const std::string& config, std::vector<std::string> command)
{
    std::vector<std::string> argv{kRotator, "--config=" + config};
    argv.insert(argv.end(), command.begin(), command.end());
    return runProcess(argv, rotator::test::minimalEnvironment(), 30s);
}

void expectConfigError(const rotator::test::ProcessResult& result,
                       const std::vector<std::string>& fragments)
{
    ASSERT_TRUE(result.status) << result.describe();
    EXPECT_TRUE(result.status->exited && result.status->code == kExitConfig) << result.describe();
    for (const auto& fragment : fragments)
    {
        EXPECT_TRUE(contains(result.err, fragment)) << fragment << "\n" << result.describe();
    }
}

} // namespace

TEST(FileTrustProcess, CheckConfigExits78ForAConfigurationFileItsGroupCanWrite)
{
    TempDir dir;
    const std::string config = writeConfig(dir, "", 0660);
    ASSERT_EQ(::chmod(config.c_str(), 0660), 0);
    expectConfigError(run(config, {"check-config", "--offline"}),
                      {"configuration error: configuration file " + config + " (--config)",
                       "is writable by its group", "chmod go-w " + config});

    ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
    const auto fine = run(config, {"check-config", "--offline"});
    EXPECT_TRUE(fine.ok()) << fine.describe();
}

TEST(FileTrustProcess, CheckConfigAndStartUpExit78ForACaFileOrHookOthersCanChange)
{
    TempDir dir;
    writeFile(dir.file("ca.pem"), "not used\n", 0666);
    ASSERT_EQ(::chmod(dir.file("ca.pem").c_str(), 0666), 0);
    writeFile(dir.file("hook.sh"), "#!/bin/sh\nexit 0\n", 0775);
    ASSERT_EQ(::chmod(dir.file("hook.sh").c_str(), 0775), 0);
    const std::string config = writeConfig(dir, "astra.caFile = " + dir.file("ca.pem") +
                                                    "\nsinks.hook.type = exec\n"
                                                    "sinks.hook.command = " +
                                                    dir.file("hook.sh") + "\n");
    for (const auto& command : {std::vector<std::string>{"check-config", "--offline"},
                                std::vector<std::string>{"run-once"}})
    {
        expectConfigError(run(config, command),
                          {"astra.caFile: file " + dir.file("ca.pem"), "is writable by others"});
    }
    ASSERT_EQ(::chmod(dir.file("ca.pem").c_str(), 0644), 0);
    expectConfigError(run(config, {"run-once"}), {"sinks.hook.command: file " + dir.file("hook.sh"),
                                                  "chmod go-w " + dir.file("hook.sh")});
}

TEST(FileTrustProcess, StartUpExits78WhenAnotherUserOwnsTheStateDirectory)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << rotator::test::kNeedsRoot;
    }
    TempDir dir;
    const std::string config = writeConfig(dir, "");
    ASSERT_EQ(::mkdir(dir.file("state").c_str(), 0700), 0);
    ASSERT_EQ(
        ::chown(dir.file("state").c_str(), rotator::test::kOtherUid, rotator::test::kOtherGid), 0);
    expectConfigError(run(config, {"run-once"}),
                      {"configuration error: state.dir: state directory " + dir.file("state") +
                           " (owner uid 65534",
                       "does not belong to the rotator's user"});
}
