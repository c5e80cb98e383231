#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "SinkTestSupport.h"
#include "rotator/core/SecretMasker.h"
#include "rotator/sink/ExecSink.h"
#include "rotator/sink/SinkFactory.h"
#include "support/TempDir.h"

using rotator::config::SinkSettings;
using rotator::config::SinkType;
using rotator::core::FailureKind;
using rotator::sink::Credential;
using rotator::sink::ExecSink;
using rotator::sink::renderJson;
using rotator::sinktest::eventually;
using rotator::sinktest::kSecret;
using rotator::sinktest::kSecretHead;
using rotator::sinktest::leaks;
using rotator::sinktest::LogCapture;
using rotator::sinktest::makeTestCredential;
using rotator::sinktest::processGone;
using rotator::sinktest::zombieChildren;
using rotator::test::readFile;
using rotator::test::TempDir;
using rotator::test::writeFile;

namespace
{

/// Writes an executable /bin/sh script into `dir`.
std::string script(const TempDir& dir, const std::string& name, const std::string& body)
{
    const std::string path = dir.file(name);
    writeFile(path, "#!/bin/sh\n" + body, 0700);
    return path;
}

SinkSettings execSettings(std::vector<std::string> command, std::int64_t timeoutMs = 10'000)
{
    SinkSettings s;
    s.name = "billing-hook";
    s.type = SinkType::Exec;
    s.command = std::move(command);
    s.timeoutMs = timeoutMs;
    return s;
}

bool contains(const std::string& text, const std::string& fragment)
{
    return text.find(fragment) != std::string::npos;
}

/// Shell lines that read the json form from stdin into $input and take $secret and $token
/// out of it.
const std::string kReadSecretAndToken =
    "input=$(cat)\n"
    "secret=$(printf '%s' \"$input\" | sed -n 's/.*\"secret\":\"\\([^\"]*\\)\".*/\\1/p')\n"
    "token=$(printf '%s' \"$input\" | sed -n 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/p')\n";

/// Sets an environment variable for one test and removes it afterwards.
class EnvGuard
{
public:
    EnvGuard(const char* name, const char* value) : _name(name) { ::setenv(name, value, 1); }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;
    ~EnvGuard() { ::unsetenv(_name); }

private:
    const char* _name;
};

} // namespace

TEST(ExecSink, FeedsTheJsonFormOnStdin)
{
    TempDir dir;
    ExecSink sink(execSettings({script(dir, "copy.sh", "cat > \"$1\"\n"), dir.file("stdin")}));
    const Credential c = makeTestCredential();
    const auto delivered = sink.deliver(c);
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(readFile(dir.file("stdin")), renderJson(c));
}

TEST(ExecSink, GivesTheCommandExactlyThreeEnvironmentVariablesAndNoneOfOurs)
{
    TempDir dir;
    const EnvGuard leak("ASTRA_TOKEN", "leak");
    // /proc/$$/environ is what execve handed the shell; `env` would also show the PWD dash
    // adds on its own.
    ExecSink sink(execSettings(
        {script(dir, "env.sh", "tr '\\0' '\\n' < /proc/$$/environ > \"$1\"\n"), dir.file("env")}));
    const Credential c = makeTestCredential();
    const auto delivered = sink.deliver(c);
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(readFile(dir.file("env")), "PATH=/usr/local/bin:/usr/bin:/bin\n"
                                         "ASTRA_ROTATOR_CREDENTIAL=billing\n"
                                         "ASTRA_CLIENT_ID=" +
                                             c.clientId + "\n");
}

TEST(ExecSink, EnvironmentSeenThroughEnvHasNoParentVariables)
{
    TempDir dir;
    const EnvGuard leak("ASTRA_TOKEN", "leak");
    ExecSink sink(execSettings({script(dir, "env.sh", "env > \"$1\"\n"), dir.file("env")}));
    ASSERT_TRUE(sink.deliver(makeTestCredential()).has_value());
    const std::string env = readFile(dir.file("env"));
    EXPECT_FALSE(contains(env, "ASTRA_TOKEN")) << env;
    EXPECT_FALSE(contains(env, "leak")) << env;
    EXPECT_FALSE(contains(env, "HOME=")) << env;
    EXPECT_FALSE(contains(env, kSecretHead)) << env;
    EXPECT_TRUE(contains(env, "ASTRA_CLIENT_ID=AbCdEfGhIjKlMnOpQrStUvWx\n")) << env;
}

TEST(ExecSink, PassesTheArgvAsConfiguredWithoutAShell)
{
    TempDir dir;
    const std::string program =
        script(dir, "args.sh", "out=\"$1\"; shift; printf '[%s]\\n' \"$0\" \"$@\" > \"$out\"\n");
    ExecSink sink(
        execSettings({program, dir.file("args"), "two words", "$HOME", "*", "", "a;b|c"}));
    ASSERT_TRUE(sink.deliver(makeTestCredential()).has_value());
    EXPECT_EQ(readFile(dir.file("args")),
              "[" + program + "]\n[two words]\n[$HOME]\n[*]\n[]\n[a;b|c]\n");
}

TEST(ExecSink, DoesNotLeakOurFileDescriptorsIntoTheCommand)
{
    TempDir dir;
    const rotator::test::InheritableDescriptor inheritable(77);
    ASSERT_TRUE(inheritable.valid());
    ExecSink sink(execSettings(
        {script(dir, "fds.sh", inheritable.shellProbe() + " > \"$1\"\n"), dir.file("fds")}));
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(readFile(dir.file("fds")), "closed\n");
}

TEST(ExecSink, ReportsANonZeroExitWithTheStatusAndTheLastStderrLine)
{
    TempDir dir;
    ExecSink sink(execSettings({script(
        dir, "fail.sh", "echo 'first problem' >&2\necho 'cannot reach prod' >&2\nexit 3\n")}));
    const Credential c = makeTestCredential();
    const auto delivered = sink.deliver(c);
    ASSERT_FALSE(delivered.has_value());
    const auto& failure = delivered.error();
    EXPECT_EQ(failure.kind, FailureKind::Transient);
    EXPECT_TRUE(contains(failure.message, "exec sink billing-hook: ")) << failure.message;
    EXPECT_TRUE(contains(failure.message, "exited with status 3")) << failure.message;
    EXPECT_TRUE(contains(failure.message, "cannot reach prod")) << failure.message;
    EXPECT_FALSE(leaks(failure.message, c));
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(ExecSink, ReportsDeathBySignal)
{
    TempDir dir;
    ExecSink sink(execSettings({script(dir, "die.sh", "kill -9 $$\n")}));
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_FALSE(delivered.has_value());
    EXPECT_TRUE(contains(delivered.error().message, "killed by signal 9 (SIGKILL)"))
        << delivered.error().message;
}

// The hook's contract: only its own non-zero exit says "not installed". A hook that read the
// credential and then hung or died may have installed it ("may hold", Failure::ambiguous).
TEST(ExecSink, AHookThatReadItsStdinAndTimedOutMayHoldTheCredential)
{
    TempDir dir;
    ExecSink sink(execSettings(
        {script(dir, "hang.sh", "cat > \"$1\"\nexec sleep 60\n"), dir.file("stdin")}, 1000));
    const Credential c = makeTestCredential();
    const auto delivered = sink.deliver(c);
    ASSERT_FALSE(delivered.has_value());
    EXPECT_TRUE(delivered.error().ambiguous) << delivered.error().message;
    EXPECT_EQ(delivered.error().message,
              "exec sink billing-hook: timed out after 1s (process group killed); the hook may "
              "have installed the credential");
    EXPECT_EQ(readFile(dir.file("stdin")), renderJson(c)) << "the hook did not read its stdin";
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(ExecSink, AHookKilledByASignalAfterReadingItsStdinMayHoldTheCredential)
{
    TempDir dir;
    for (const std::string signal : {"KILL", "TERM"})
    {
        SCOPED_TRACE(signal);
        ExecSink sink(execSettings({script(dir, "die-" + signal + ".sh",
                                           "cat > \"$1\"\nkill -" + signal + " $$\nexit 0\n"),
                                    dir.file("stdin")}));
        const auto delivered = sink.deliver(makeTestCredential());
        ASSERT_FALSE(delivered.has_value());
        EXPECT_TRUE(delivered.error().ambiguous) << delivered.error().message;
        EXPECT_TRUE(contains(delivered.error().message,
                             " was killed by signal " +
                                 std::string(signal == "KILL" ? "9 (SIGKILL)" : "15 (SIGTERM)") +
                                 "; the hook may have installed the credential"))
            << delivered.error().message;
    }
}

TEST(ExecSink, ANonZeroExitAfterReadingStdinIsTheHooksCleanNotInstalled)
{
    TempDir dir;
    ExecSink sink(execSettings({script(dir, "refuse.sh", "cat > /dev/null\nexit 3\n")}));
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_FALSE(delivered.has_value());
    EXPECT_FALSE(delivered.error().ambiguous) << delivered.error().message;
    EXPECT_TRUE(contains(delivered.error().message, "exited with status 3"));
    EXPECT_FALSE(contains(delivered.error().message, "may have installed"));
}

TEST(ExecSink, FailuresBeforeTheHookRanAreClean)
{
    TempDir dir;
    writeFile(dir.file("broken"), "#!/nonexistent/interpreter\n", 0700);
    for (const auto& program : {dir.file("missing"), dir.file("broken")})
    {
        SCOPED_TRACE(program);
        const auto delivered = ExecSink(execSettings({program})).deliver(makeTestCredential());
        ASSERT_FALSE(delivered.has_value());
        EXPECT_FALSE(delivered.error().ambiguous) << delivered.error().message;
    }
}

TEST(ExecSink, KillsTheWholeProcessGroupOnTimeoutAndLeavesNoZombie)
{
    TempDir dir;
    ExecSink sink(execSettings(
        {script(dir, "slow.sh", "sleep 60 &\necho $! > \"$1\"\nwait\n"), dir.file("pid")}, 300));
    const auto start = std::chrono::steady_clock::now();
    const auto delivered = sink.deliver(makeTestCredential());
    const auto elapsed = std::chrono::steady_clock::now() - start;

    ASSERT_FALSE(delivered.has_value());
    EXPECT_EQ(delivered.error().kind, FailureKind::Transient);
    EXPECT_EQ(delivered.error().message,
              "exec sink billing-hook: timed out after 300ms (process group killed); the hook may "
              "have installed the credential");
    EXPECT_GE(elapsed, std::chrono::milliseconds(300));
    EXPECT_LT(elapsed, std::chrono::seconds(5));

    const std::string pidText = readFile(dir.file("pid"));
    ASSERT_FALSE(pidText.empty()) << "the script did not record its grandchild";
    const auto grandchild = static_cast<pid_t>(std::stoi(pidText));
    EXPECT_TRUE(eventually([&] { return processGone(grandchild); }))
        << "the grandchild " << grandchild << " survived the timeout";
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(ExecSink, EscalatesToSigkillWhenTheCommandIgnoresSigterm)
{
    TempDir dir;
    ExecSink sink(execSettings(
        {script(dir, "stubborn.sh", "trap '' TERM\nwhile :; do sleep 1; done\n")}, 200));
    sink.setKillGrace(std::chrono::milliseconds(200));
    const auto start = std::chrono::steady_clock::now();
    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_FALSE(delivered.has_value());
    EXPECT_TRUE(contains(delivered.error().message, "timed out after 200ms"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(ExecSink, DoesNotDeadlockWhenTheCommandWritesAMegabyteAndNeverReadsStdin)
{
    TempDir dir;
    const LogCapture log;
    // A large input (roles) that does not fit into a pipe, and a command that fills its
    // stdout first: blocking I/O in either direction would hang here.
    Credential c = makeTestCredential();
    c.roles.assign(4000, std::string(60, 'r'));
    ExecSink sink(execSettings(
        {script(dir, "noisy.sh", "yes 'a line of output' | head -c 1048576\nexit 0\n")}, 20'000));
    const auto delivered = sink.deliver(c);
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;

    const std::string all = log.all();
    EXPECT_TRUE(contains(all, "exec sink billing-hook: stdout: a line of output"))
        << all.substr(0, 500);
    EXPECT_TRUE(contains(all, "more output not logged")) << all.substr(all.size() - 500);
    EXPECT_TRUE(contains(all, "without reading all of its input"));
    // 64 KiB of output at most, plus the prefixes.
    EXPECT_LT(all.size(), 200U * 1024U);
}

TEST(ExecSink, SurvivesACommandThatExitsWithoutReadingALargeInput)
{
    TempDir dir;
    Credential c = makeTestCredential();
    c.roles.assign(4000, std::string(60, 'r')); // more than a pipe holds: EPIPE for us
    ExecSink sink(execSettings({script(dir, "quick.sh", "exit 0\n")}));
    const auto delivered = sink.deliver(c);
    EXPECT_TRUE(delivered.has_value()) << delivered.error().message;
}

TEST(ExecSink, NeverLogsTheSecretOrTokenEvenWhenTheCommandEchoesItsInput)
{
    TempDir dir;
    const LogCapture log;
    // Echo the JSON to stderr and stdout, then the bare secret and token, and the secret
    // placed so that it straddles the 200-character cut of a logged line.
    const std::string body = kReadSecretAndToken + "printf '%s\\n' \"$input\" >&2\n"
                                                   "printf '%s\\n' \"$input\"\n"
                                                   "printf 'secret is %s\\n' \"$secret\" >&2\n"
                                                   "printf 'token is %s\\n' \"$token\"\n"
                                                   "printf '%0195d%s\\n' 0 \"$secret\" >&2\n"
                                                   "printf '%0197d%s\\n' 0 \"$token\" >&2\n"
                                                   "printf 'last %s' \"$secret\" >&2\n"
                                                   "exit 1\n";
    ExecSink sink(execSettings({script(dir, "echo.sh", body)}));
    const Credential c = makeTestCredential();
    const auto delivered = sink.deliver(c);
    ASSERT_FALSE(delivered.has_value());

    const std::string all = log.all();
    EXPECT_TRUE(contains(all, "stderr: secret is ***")) << all;
    EXPECT_TRUE(contains(all, "stdout: token is ***")) << all;
    EXPECT_TRUE(contains(all, "stderr: 000")) << all;
    EXPECT_FALSE(leaks(all, c)) << all;
    EXPECT_FALSE(contains(all, kSecretHead)) << all;
    EXPECT_FALSE(contains(all, "AstraCS:" + c.clientId)) << all;
    EXPECT_FALSE(leaks(delivered.error().message, c)) << delivered.error().message;
    EXPECT_TRUE(contains(delivered.error().message, "last line of stderr: last ***"))
        << delivered.error().message;

    // Lines the logger's level drops are not cleaned for the log, but the last stderr line
    // still reaches the failure message (and so the database) cleaned.
    const std::size_t logged = log.messages().size();
    Poco::Logger::get("sink").setLevel(Poco::Message::PRIO_ERROR);
    const auto quiet = sink.deliver(c);
    ASSERT_FALSE(quiet.has_value());
    EXPECT_EQ(log.messages().size(), logged) << log.all();
    EXPECT_EQ(quiet.error().message, delivered.error().message);
}

TEST(ExecSink, FailsPermanentlyForAMissingOrNonExecutableProgram)
{
    TempDir dir;
    const auto missing = ExecSink(execSettings({dir.file("nope")})).deliver(makeTestCredential());
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(missing.error().message, dir.file("nope") + " does not exist"))
        << missing.error().message;
    EXPECT_TRUE(contains(missing.error().message, "sinks.billing-hook.command"));

    writeFile(dir.file("plain"), "#!/bin/sh\nexit 0\n", 0600);
    const auto plain = ExecSink(execSettings({dir.file("plain")})).deliver(makeTestCredential());
    ASSERT_FALSE(plain.has_value());
    EXPECT_EQ(plain.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(plain.error().message, "not executable")) << plain.error().message;

    const auto relative = ExecSink(execSettings({"push.sh"})).check();
    ASSERT_FALSE(relative.has_value());
    EXPECT_TRUE(contains(relative.error().message, "not an absolute path"));

    const auto directory = ExecSink(execSettings({dir.path()})).check();
    ASSERT_FALSE(directory.has_value());
    EXPECT_TRUE(contains(directory.error().message, "not a regular file"));
}

TEST(ExecSink, FailsPermanentlyWhenTheInterpreterIsMissing)
{
    TempDir dir;
    writeFile(dir.file("broken"), "#!/nonexistent/interpreter\n", 0700);
    const auto result = ExecSink(execSettings({dir.file("broken")})).deliver(makeTestCredential());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(result.error().message, "cannot run " + dir.file("broken")))
        << result.error().message;
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(ExecSink, ChecksTheProgramWithoutRunningIt)
{
    TempDir dir;
    ExecSink sink(execSettings({script(dir, "mark.sh", "touch \"$1\"\n"), dir.file("ran")}));
    EXPECT_TRUE(sink.check().has_value());
    EXPECT_TRUE(readFile(dir.file("ran")).empty());
    EXPECT_NE(::access(dir.file("ran").c_str(), F_OK), 0);
}

TEST(ExecSink, DescribesItselfAndIsBuiltByMakeSink)
{
    const auto sink =
        rotator::sink::makeSink(execSettings({"/usr/local/bin/push", "--target", "prod"}, 30'000));
    ASSERT_NE(dynamic_cast<ExecSink*>(sink.get()), nullptr);
    EXPECT_EQ(sink->describe(), "exec /usr/local/bin/push --target prod (timeout 30s)");
    EXPECT_EQ(sink->name(), "billing-hook");
    EXPECT_EQ(ExecSink(execSettings({"/bin/true"}, 1500)).describe(),
              "exec /bin/true (timeout 1500ms)");
}

TEST(ExecSink, LogsTheDeliveryWithTheClientIdAndTheCommandsOutput)
{
    TempDir dir;
    const LogCapture log;
    ExecSink sink(execSettings({script(dir, "ok.sh", "cat > /dev/null\necho pushed to prod\n")}));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());
    const std::string all = log.all();
    EXPECT_TRUE(contains(all, "exec sink billing-hook: stdout: pushed to prod\n")) << all;
    EXPECT_TRUE(contains(all, "exec sink billing-hook: delivered clientId " + c.clientId)) << all;
}

TEST(ExecSink, LogsTheHooksOutputAtDebugByDefault)
{
    TempDir dir;
    const LogCapture log;
    ExecSink sink(execSettings(
        {script(dir, "talk.sh", "cat > /dev/null\necho to stdout\necho to stderr >&2\n")}));
    ASSERT_TRUE(sink.deliver(makeTestCredential()).has_value());
    EXPECT_EQ(log.priorityOf("stdout: to stdout"), Poco::Message::PRIO_DEBUG) << log.all();
    EXPECT_EQ(log.priorityOf("stderr: to stderr"), Poco::Message::PRIO_DEBUG) << log.all();
}

TEST(ExecSink, LogsTheHooksOutputAtInformationAndWarningOrNotAtAllAsConfigured)
{
    TempDir dir;
    const std::string talk =
        script(dir, "talk.sh", "cat > /dev/null\necho to stdout\necho to stderr >&2\nexit 3\n");
    {
        const LogCapture log;
        auto settings = execSettings({talk});
        settings.logOutput = rotator::config::HookOutputLog::Information;
        EXPECT_FALSE(ExecSink(settings).deliver(makeTestCredential()).has_value());
        EXPECT_EQ(log.priorityOf("stdout: to stdout"), Poco::Message::PRIO_INFORMATION);
        EXPECT_EQ(log.priorityOf("stderr: to stderr"), Poco::Message::PRIO_WARNING);
    }
    const LogCapture log;
    auto settings = execSettings({talk});
    settings.logOutput = rotator::config::HookOutputLog::None;
    const auto delivered = ExecSink(settings).deliver(makeTestCredential());
    ASSERT_FALSE(delivered.has_value());
    EXPECT_FALSE(contains(log.all(), "to std")) << log.all();
    EXPECT_FALSE(contains(delivered.error().message, "to stderr")) << delivered.error().message;
}

// A hook that passes the secret on in a disguise (base64 for a Kubernetes secret, URL-encoded
// for a form post, or cut short) must not put it in the log that way either.
TEST(ExecSink, NeverLogsTheSecretBase64EncodedUrlEncodedOrTruncated)
{
    TempDir dir;
    const LogCapture log;
    const std::string body =
        kReadSecretAndToken +
        "printf 'b64 %s\\n' \"$(printf '%s' \"$secret\" | base64 -w0)\"\n"
        "printf 'input b64 %s\\n' \"$(printf '%s' \"$input\" | base64 -w0)\"\n"
        "printf 'token b64 %s\\n' \"$(printf '%s' \"$token\" | base64 -w0)\" >&2\n"
        "printf 'url %s\\n' \"$(printf '%s' \"$secret\" | sed 's/,/%2C/g; s/+/%2B/g')\"\n"
        "printf 'token url %s\\n' \"$(printf '%s' \"$token\" | sed 's/:/%3a/g')\"\n"
        "printf 'cut %s\\n' \"$(printf '%s' \"$secret\" | cut -c 3-22)\"\n"
        "printf 'hash cut %s\\n' \"$(printf '%s' \"$token\" | cut -c 40-60)\"\n";
    ExecSink sink(execSettings({script(dir, "disguise.sh", body)}));
    const Credential c = makeTestCredential();
    ASSERT_TRUE(sink.deliver(c).has_value());

    const std::string& secret = c.secret.reveal();
    const std::string& token = c.token.reveal();
    const std::string all = log.all();
    for (const std::string label :
         {"b64 ***", "input b64 ", "token b64 ***", "url ***", "token url ***", "cut ***",
          "hash cut ***"})
    {
        EXPECT_TRUE(contains(all, ": " + label)) << label << "\n" << all;
    }
    EXPECT_FALSE(leaks(all, c)) << all;
    for (const std::string& disguised :
         {rotator::core::base64Encode(secret, false, true),
          rotator::core::base64Encode(secret, false, false).substr(4, 16),
          rotator::core::base64Encode(token, false, true), rotator::core::percentEncode(secret, false),
          rotator::core::percentEncode(token, true), secret.substr(2, 20)})
    {
        EXPECT_FALSE(contains(all, disguised)) << disguised << "\n" << all;
    }
    // The base64 of the whole input loses every piece that spells the secret or token.
    const std::string inputB64 = rotator::core::base64Encode(renderJson(c), false, true);
    EXPECT_FALSE(contains(all, inputB64.substr(0, inputB64.size() / 2))) << all;
}

TEST(ExecSink, RunsTheCommandAsTheConfiguredUserAndGroup)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << "changing a child's uid needs root";
    }
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const LogCapture log;
    auto settings = execSettings(
        {script(dir, "who.sh", "cat > /dev/null\necho \"ids $(id -u) $(id -g) $(id -G)\"\n")});
    ::chmod(settings.command.front().c_str(), 0755);
    settings.user = "65534";
    settings.group = "65534";
    settings.logOutput = rotator::config::HookOutputLog::Information;
    const auto delivered = ExecSink(settings).deliver(makeTestCredential());
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_TRUE(contains(log.all(), "stdout: ids 65534 65534 65534\n")) << log.all();
}

// The user database may fail (an NSS/LDAP timeout) at any lookup. A delivery looks the hook's
// user up once and runs the hook with what it found or not at all: never with the rotator's
// own ids (root). Here the first lookup answers and every later one fails.
TEST(ExecSink, LooksTheUserUpOnceAndNeverRunsTheHookAsRootWhenTheLookupFails)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << "changing a child's uid needs root";
    }
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const std::string ran = dir.file("ran-as");
    writeFile(ran, "", 0666); // the hook appends the uid it ran as
    auto settings =
        execSettings({script(dir, "who.sh", "cat > /dev/null\nid -u >> " + ran + "\n")});
    ::chmod(settings.command.front().c_str(), 0755);
    settings.user = "app";
    ExecSink sink(settings);
    int lookups = 0;
    sink.setAccountLookup(
        [&lookups](const std::string& user,
                   const std::string&) -> rotator::core::Outcome<rotator::os::FileOwner>
        {
            EXPECT_EQ(user, "app");
            if (++lookups > 1)
            {
                return rotator::core::fail(FailureKind::Transient,
                                           "cannot look up user 'app': Connection timed out");
            }
            return rotator::os::FileOwner{65534, 65534};
        });

    const auto delivered = sink.deliver(makeTestCredential());
    ASSERT_TRUE(delivered.has_value()) << delivered.error().message;
    EXPECT_EQ(lookups, 1);
    EXPECT_EQ(readFile(ran), "65534\n");

    const auto failed = sink.deliver(makeTestCredential());
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().kind, FailureKind::Transient);
    EXPECT_FALSE(failed.error().ambiguous);
    EXPECT_EQ(failed.error().message, "exec sink billing-hook: sinks.billing-hook.user/.group: "
                                      "cannot look up user 'app': Connection timed out");
    EXPECT_EQ(lookups, 2);
    EXPECT_EQ(readFile(ran), "65534\n") << "the hook ran although its user was not found";
}

TEST(ExecSink, RefusesAUserOrGroupUnlessRunningAsRootAndAnUnknownUser)
{
    auto settings = execSettings({"/bin/true"});
    settings.user = "no-such-user-here";
    if (::geteuid() == 0)
    {
        const auto unknown = ExecSink(settings).check();
        ASSERT_FALSE(unknown.has_value());
        EXPECT_EQ(unknown.error().kind, FailureKind::Permanent);
        EXPECT_TRUE(contains(unknown.error().message, "sinks.billing-hook.user/.group: unknown "
                                                      "user 'no-such-user-here'"))
            << unknown.error().message;
    }
    // The same check by a process that is not root (a forked child that dropped to nobody).
    settings.user = "65534";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
    {
        if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0)
        {
            ::_exit(2);
        }
        const auto refused = ExecSink(settings).check();
        ::_exit(!refused.has_value() &&
                        contains(refused.error().message, "need the rotator to run as root")
                    ? 0
                    : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
