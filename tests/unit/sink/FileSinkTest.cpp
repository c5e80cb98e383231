#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "SinkTestSupport.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/SinkFactory.h"
#include "support/OtherUser.h"
#include "support/TempDir.h"

using rotator::config::SinkFormat;
using rotator::config::SinkSettings;
using rotator::core::FailureKind;
using rotator::sink::Credential;
using rotator::sink::FileSink;
using rotator::sink::quoteEnvValue;
using rotator::sink::renderEnv;
using rotator::sinktest::kSecret;
using rotator::sinktest::leaks;
using rotator::sinktest::listDir;
using rotator::sinktest::LogCapture;
using rotator::sinktest::lstatOf;
using rotator::sinktest::makeTestCredential;
using rotator::test::readFile;
using rotator::test::TempDir;

namespace
{

SinkSettings fileSettings(const std::string& path, SinkFormat format, unsigned mode = 0600)
{
    SinkSettings s;
    s.name = "billing-file";
    s.type = rotator::config::SinkType::File;
    s.path = path;
    s.format = format;
    s.mode = mode;
    return s;
}

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// What POSIX sh reads from an env file written by renderEnv: the value of `variable` after
/// `. file`.
std::string sourcedBySh(const std::string& file, const std::string& variable, const TempDir& dir)
{
    const std::string out = dir.file("sourced");
    const std::string command =
        "/bin/sh -c '. \"$0\"; printf %s \"$" + variable + "\" > \"$1\"' " + file + " " + out;
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return readFile(out);
}

} // namespace

TEST(FileSink, WritesTheJsonFormatByteForByte)
{
    TempDir dir;
    FileSink sink(fileSettings(dir.file("astra.json"), SinkFormat::Json));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());
    EXPECT_EQ(readFile(dir.file("astra.json")),
              "{\"clientId\":\"AbCdEfGhIjKlMnOpQrStUvWx\",\"secret\":\"" + kSecret +
                  "\",\"token\":\"" + c.token.reveal() +
                  "\",\"orgId\":\"f8a9e1f0-1234-4abc-8def-000000000001\",\"roles\":["
                  "\"1faa93f3-d33a-4a8a-8a35-0b3f2b8e5d21\",\"Database Administrator\"],"
                  "\"generatedOn\":\"2024-05-01T10:20:30.123Z\"}\n");
    EXPECT_EQ(lstatOf(dir.file("astra.json")).st_mode & 07777U, 0600U);
}

TEST(FileSink, WritesTheEnvFormatByteForByte)
{
    TempDir dir;
    FileSink sink(fileSettings(dir.file("astra.env"), SinkFormat::Env, 0640));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());
    // Astra values need no quotes: letters, digits and , . + - _ : only.
    EXPECT_EQ(readFile(dir.file("astra.env")), "ASTRA_CLIENT_ID=AbCdEfGhIjKlMnOpQrStUvWx\n"
                                               "ASTRA_CLIENT_SECRET=" +
                                                   kSecret +
                                                   "\n"
                                                   "ASTRA_DB_APPLICATION_TOKEN=" +
                                                   c.token.reveal() + "\n");
    EXPECT_EQ(lstatOf(dir.file("astra.env")).st_mode & 07777U, 0640U);
}

TEST(FileSink, WritesTheTokenFormatByteForByte)
{
    TempDir dir;
    FileSink sink(fileSettings(dir.file("token"), SinkFormat::Token));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());
    EXPECT_EQ(readFile(dir.file("token")), c.token.reveal() + "\n");
}

TEST(FileSink, QuotesEnvValuesThatAShellOrSystemdWouldInterpret)
{
    EXPECT_EQ(quoteEnvValue("AbC09_.,+:/@-"), "AbC09_.,+:/@-");
    EXPECT_EQ(quoteEnvValue(""), "");
    EXPECT_EQ(quoteEnvValue("a b"), "'a b'");
    EXPECT_EQ(quoteEnvValue("$HOME"), "'$HOME'");
    EXPECT_EQ(quoteEnvValue("back\\slash\"dq"), "'back\\slash\"dq'");
    EXPECT_EQ(quoteEnvValue("it's"), "'it'\"'\"'s'");
    EXPECT_EQ(quoteEnvValue("#comment"), "'#comment'");
    EXPECT_EQ(quoteEnvValue("two\nlines"), "'two\nlines'");
}

TEST(FileSink, EnvFileValuesReadBackUnchangedByPosixSh)
{
    TempDir dir;
    const std::string awkward = "it's $HOME `id` \\n \"q\" #x;&|*";
    const Credential c = makeTestCredential(awkward);
    FileSink sink(fileSettings(dir.file("astra.env"), SinkFormat::Env));
    ASSERT_TRUE(sink.deliver(c).has_value());
    EXPECT_EQ(sourcedBySh(dir.file("astra.env"), "ASTRA_CLIENT_SECRET", dir), awkward);
    EXPECT_EQ(sourcedBySh(dir.file("astra.env"), "ASTRA_DB_APPLICATION_TOKEN", dir),
              c.token.reveal());
    EXPECT_EQ(sourcedBySh(dir.file("astra.env"), "ASTRA_CLIENT_ID", dir), c.clientId);
}

TEST(FileSink, SetsOwnerAndGroupGivenAsTheNumericIdsOfTheCurrentUser)
{
    TempDir dir;
    SinkSettings s = fileSettings(dir.file("astra.json"), SinkFormat::Json);
    s.owner = std::to_string(::geteuid());
    s.group = std::to_string(::getegid());
    FileSink sink(s);
    ASSERT_TRUE(sink.check().has_value());
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(lstatOf(dir.file("astra.json")).st_uid, ::geteuid());
    EXPECT_EQ(lstatOf(dir.file("astra.json")).st_gid, ::getegid());
}

TEST(FileSink, ResolvesTheOwnerByName)
{
    const passwd* me = ::getpwuid(::geteuid());
    if (me == nullptr)
    {
        GTEST_SKIP() << "the current user has no passwd entry";
    }
    TempDir dir;
    SinkSettings s = fileSettings(dir.file("astra.json"), SinkFormat::Json);
    s.owner = me->pw_name;
    FileSink sink(s);
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(lstatOf(dir.file("astra.json")).st_uid, ::geteuid());
}

TEST(FileSink, FailsForAnUnknownUserNamingItAndWritesNothing)
{
    TempDir dir;
    SinkSettings s = fileSettings(dir.file("astra.json"), SinkFormat::Json);
    s.owner = "no-such-user-rotator";
    FileSink sink(s);
    const Credential c = makeTestCredential();
    for (const auto& result : {sink.deliver(c), sink.check()})
    {
        ASSERT_FALSE(result.has_value());
        EXPECT_EQ(result.error().kind, FailureKind::Permanent);
        EXPECT_TRUE(contains(result.error().message, "file sink billing-file: "))
            << result.error().message;
        EXPECT_TRUE(contains(result.error().message, "unknown user 'no-such-user-rotator'"))
            << result.error().message;
        EXPECT_TRUE(contains(result.error().message, "(sinks.billing-file.owner)"));
        EXPECT_FALSE(leaks(result.error().message, c));
    }
    EXPECT_TRUE(listDir(dir.path()).empty());
}

TEST(FileSink, FailsForAnUnknownGroup)
{
    TempDir dir;
    SinkSettings s = fileSettings(dir.file("astra.json"), SinkFormat::Json);
    s.group = "no-such-group-rotator";
    const auto result = FileSink(s).deliver(makeTestCredential());
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(contains(result.error().message, "unknown group 'no-such-group-rotator'"))
        << result.error().message;
    EXPECT_TRUE(contains(result.error().message, "(sinks.billing-file.group)"));
    EXPECT_TRUE(listDir(dir.path()).empty());
}

TEST(FileSink, LogsWroteThenUnchangedWithPathAndClientIdButNeverTheContent)
{
    TempDir dir;
    const LogCapture log;
    FileSink sink(fileSettings(dir.file("astra.json"), SinkFormat::Json));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());
    const auto inode = lstatOf(dir.file("astra.json")).st_ino;
    ASSERT_TRUE(sink.deliver(c).has_value());
    EXPECT_EQ(lstatOf(dir.file("astra.json")).st_ino, inode);

    const auto messages = log.messages();
    ASSERT_EQ(messages.size(), 2U) << log.all();
    EXPECT_EQ(messages[0], "file sink billing-file: wrote " + dir.file("astra.json") +
                               " (clientId " + c.clientId + ")");
    EXPECT_EQ(messages[1], "file sink billing-file: unchanged " + dir.file("astra.json") +
                               " (clientId " + c.clientId + ")");
    EXPECT_FALSE(leaks(log.all(), c));
}

TEST(FileSink, PrefixesWriteFailuresWithTheSinkNameAndNeverShowsTheSecret)
{
    TempDir dir;
    ASSERT_EQ(::symlink(dir.file("elsewhere").c_str(), dir.file("astra.json").c_str()), 0);
    FileSink sink(fileSettings(dir.file("astra.json"), SinkFormat::Json));
    const Credential c = makeTestCredential();
    const auto result = sink.deliver(c);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_EQ(result.error().message.rfind(
                  "file sink billing-file: refusing to write " + dir.file("astra.json"), 0),
              0U)
        << result.error().message;
    EXPECT_FALSE(leaks(result.error().message, c));
    EXPECT_FALSE(result.error().ambiguous) << "nothing was written: a clean failure";
    EXPECT_FALSE(sink.check().has_value());
}

TEST(FileSink, AFailureAfterTheRenameReachesTheEngineAsMayHold)
{
    TempDir dir;
    FileSink sink(fileSettings(dir.file("astra.json"), SinkFormat::Json));
    rotator::os::detail::setAfterRenameHookForTests([](const std::string& target)
                                                    { ::unlink(target.c_str()); });
    const auto result = sink.deliver(makeTestCredential());
    rotator::os::detail::setAfterRenameHookForTests({});
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(result.error().ambiguous) << result.error().message;
    EXPECT_EQ(result.error().message.rfind("file sink billing-file: cannot write", 0), 0U)
        << result.error().message;
}

TEST(FileSink, ChecksWithoutWritingAndDescribesItself)
{
    TempDir dir;
    SinkSettings s = fileSettings(dir.file("astra.json"), SinkFormat::Env, 0640);
    FileSink sink(s);
    EXPECT_TRUE(sink.check().has_value());
    EXPECT_TRUE(listDir(dir.path()).empty());
    EXPECT_EQ(sink.describe(), "file " + dir.file("astra.json") + " (env, 0640)");
    EXPECT_EQ(sink.name(), "billing-file");

    s.owner = "root";
    s.group = "0";
    EXPECT_EQ(FileSink(s).describe(),
              "file " + dir.file("astra.json") + " (env, 0640, owner root, group 0)");

    const auto missing = FileSink(fileSettings(dir.file("no/dir/x"), SinkFormat::Json)).check();
    ASSERT_FALSE(missing.has_value());
    EXPECT_TRUE(contains(missing.error().message, "does not exist")) << missing.error().message;
}

// The consumer owns the directory (/srv/app/conf owned by the app user): refused, with the
// way to trust that user, until sinks.S.trustDirOwner names it (by name or uid).
TEST(FileSink, ADirectoryTheConsumerOwnsIsRefusedUntilTrustDirOwnerNamesIt)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << rotator::test::kNeedsRoot;
    }
    TempDir dir;
    const std::string conf = dir.file("conf");
    ASSERT_EQ(::mkdir(conf.c_str(), 0755), 0);
    ASSERT_EQ(::chown(conf.c_str(), rotator::test::kOtherUid, rotator::test::kOtherGid), 0);
    SinkSettings s = fileSettings(conf + "/astra.json", SinkFormat::Json);
    const auto refused = FileSink(s).deliver(makeTestCredential());
    ASSERT_FALSE(refused.has_value());
    const std::string& message = refused.error().message;
    EXPECT_EQ(message.rfind("file sink billing-file: cannot write " + conf + "/astra.json: "
                            "directory " + conf + " (owner uid 65534",
                            0),
              0U)
        << message;
    EXPECT_TRUE(contains(message, "chown root " + conf)) << message;
    EXPECT_TRUE(contains(message, "set sinks.billing-file.trustDirOwner")) << message;
    EXPECT_FALSE(FileSink(s).check().has_value());
    EXPECT_TRUE(listDir(conf).empty());

    s.trustDirOwner = "nobody";
    EXPECT_TRUE(FileSink(s).check().has_value());
    EXPECT_TRUE(FileSink(s).deliver(makeTestCredential()).has_value());
    EXPECT_EQ(listDir(conf), std::vector<std::string>{"astra.json"});

    s.trustDirOwner = "no-such-user-here";
    const auto unknown = FileSink(s).deliver(makeTestCredential());
    ASSERT_FALSE(unknown.has_value());
    EXPECT_TRUE(contains(unknown.error().message, "(sinks.billing-file.trustDirOwner)"))
        << unknown.error().message;
}

TEST(FileSink, MakeSinkBuildsAFileSinkForTypeFile)
{
    TempDir dir;
    const auto sink = rotator::sink::makeSink(fileSettings(dir.file("t"), SinkFormat::Token));
    ASSERT_NE(sink, nullptr);
    EXPECT_NE(dynamic_cast<FileSink*>(sink.get()), nullptr);
    EXPECT_EQ(sink->describe(), "file " + dir.file("t") + " (token, 0600)");
}
