#include <set>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>
#include <Poco/StreamChannel.h>

#include "rotator/core/Errors.h"
#include "rotator/core/Redact.h"
#include "rotator/log/Logging.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

const std::string kToken =
    "AstraCS:zjCEYwRGWocLfQJHBNQxvorr:8709074baaf63e746cc5de52891e3a5ca88c73ae1fb7336652e9b59b9e69eff2";
const std::string kSecret = "SLR.cllL1YzfJDnl+YhUv5DMKlx8HaeMFTKjIJ4I6YdKB7w-K7U_+j-a9daWbbcp0uug";

/// A logger whose output goes through the production chain into a string.
struct Chain
{
    explicit Chain(bool json)
    {
        Poco::AutoPtr<Poco::StreamChannel> sink(new Poco::StreamChannel(out));
        Poco::AutoPtr<Poco::Formatter> formatter;
        if (json)
        {
            formatter = new log::JsonFormatter;
        }
        else
        {
            formatter = new Poco::PatternFormatter("%s: %t");
        }
        Poco::AutoPtr<Poco::FormattingChannel> formatting(
            new Poco::FormattingChannel(formatter, sink));
        Poco::AutoPtr<Poco::Channel> redacting(new log::RedactingChannel(formatting));
        logger.setChannel(redacting);
        logger.setLevel("trace");
    }
    std::ostringstream out;
    Poco::Logger& logger = Poco::Logger::get("log-test");
};

} // namespace

TEST(Redaction, MasksTokensInUrlsJsonAndExceptionText)
{
    const std::vector<std::string> texts = {
        "GET https://api.example/v2/currentOrg?token=" + kToken + "&x=1",
        R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":")" + kSecret + R"(","token":")" +
            kToken + "\"}",
        "Poco::Exception: Authorization: Bearer " + kToken + " rejected",
        "curl -H 'Authorization: bearer " + kSecret + "'",
        R"(escaped {\"secret\":\")" + kSecret + R"(\"} and {"secret" : ")" + kSecret + "\"}",
    };
    for (const auto& text : texts)
    {
        const auto masked = core::redactSecrets(text);
        EXPECT_EQ(masked.find(kSecret), std::string::npos) << masked;
        EXPECT_EQ(masked.find("8709074baaf6"), std::string::npos) << masked;
        EXPECT_EQ(masked.find("zjCEYwRGWocLfQJHBNQxvorr:"), std::string::npos) << masked;
    }
    EXPECT_EQ(core::redactSecrets("nothing to hide: clientId zjCEYwRGWocLfQJHBNQxvorr"),
              "nothing to hide: clientId zjCEYwRGWocLfQJHBNQxvorr");
}

TEST(Redaction, HandlesVeryLongValuesWithoutRecursion)
{
    // std::regex recursed once per character and overflowed the stack around 20 KB
    // (tests/fuzz/regressions/redact).
    const std::string longSecret(1000000, 's');
    EXPECT_EQ(core::redactSecrets(R"({"secret":")" + longSecret + "\"}"), R"({"secret":"***"})");
    EXPECT_EQ(core::redactSecrets("AstraCS:" + longSecret + " x"), "AstraCS:*** x");
    EXPECT_EQ(core::redactSecrets("Bearer " + longSecret), "Bearer ***");
    EXPECT_EQ(core::redactSecrets(R"(a \"token\" : \")" + longSecret + R"(\" b)"),
              R"(a \"token\" : \"***\" b)");
}

TEST(LogChannel, RedactsEveryMessageBeforeFormatting)
{
    Chain chain(false);
    chain.logger.error("create failed for " + kToken);
    chain.logger.information(R"(answer {"secret":")" + kSecret + "\"}");
    const auto text = chain.out.str();
    EXPECT_EQ(text.find(kSecret), std::string::npos);
    EXPECT_EQ(text.find("8709074baaf6"), std::string::npos);
    EXPECT_NE(text.find("create failed for AstraCS:***"), std::string::npos) << text;
}

TEST(LogChannel, JsonFormatWritesOneObjectPerLineWithFields)
{
    Chain chain(true);
    log::logWith(chain.logger, Poco::Message::PRIO_WARNING, "rolled back: token " + kToken,
                 {{"credential", "billing"}, {"clientId", "zjCEYwRGWocLfQJHBNQxvorr"},
                  {"rotation", "7"}});
    chain.logger.information("plain line");
    std::istringstream lines(chain.out.str());
    std::string line;
    std::vector<Poco::JSON::Object::Ptr> objects;
    while (std::getline(lines, line))
    {
        Poco::JSON::Parser parser;
        objects.push_back(parser.parse(line).extract<Poco::JSON::Object::Ptr>());
    }
    ASSERT_EQ(objects.size(), 2u);
    EXPECT_EQ(objects[0]->getValue<std::string>("level"), "warning");
    EXPECT_EQ(objects[0]->getValue<std::string>("logger"), "log-test");
    EXPECT_EQ(objects[0]->getValue<std::string>("credential"), "billing");
    EXPECT_EQ(objects[0]->getValue<std::string>("rotation"), "7");
    EXPECT_EQ(objects[0]->getValue<std::string>("message"), "rolled back: token AstraCS:***");
    EXPECT_EQ(objects[0]->getValue<std::string>("time").back(), 'Z');
    EXPECT_FALSE(objects[1]->has("credential"));
}

TEST(FdLineChannel, ConcurrentLinesComeOutWholeAndOnceEvenThroughAPipe)
{
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::string output;
    std::thread reader([&] {
        char buffer[8192];
        ssize_t n = 0;
        while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
        {
            output.append(buffer, static_cast<std::size_t>(n));
        }
    });
    Poco::AutoPtr<log::FdLineChannel> channel(new log::FdLineChannel(fds[1]));
    // Every fifth line is longer than PIPE_BUF, which the kernel may split.
    const auto lineOf = [](int thread, int i) {
        const std::size_t length = i % 5 == 0 ? 3 * PIPE_BUF : 60 + static_cast<std::size_t>(i);
        std::string text = std::to_string(thread) + "." + std::to_string(i) + ":";
        text.append(length - text.size(), static_cast<char>('a' + (thread + i) % 26));
        return text;
    };
    constexpr int kThreads = 8;
    constexpr int kLines = 200;
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
    {
        writers.emplace_back([&, t] {
            for (int i = 0; i < kLines; ++i)
            {
                channel->log(Poco::Message("test", lineOf(t, i), Poco::Message::PRIO_INFORMATION));
            }
        });
    }
    for (auto& w : writers)
    {
        w.join();
    }
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);

    std::multiset<std::string> expected;
    for (int t = 0; t < kThreads; ++t)
    {
        for (int i = 0; i < kLines; ++i)
        {
            expected.insert(lineOf(t, i));
        }
    }
    std::multiset<std::string> got;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line))
    {
        got.insert(line);
    }
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected) << "a line was split, merged or lost";
    EXPECT_EQ(output.back(), '\n');
}

TEST(FdLineChannel, AppendsToAnOwnerOnlyFileAndReopensItsPathAfterLogrotateMovedIt)
{
    test::TempDir dir;
    const auto path = dir.file("rotator.log");
    test::writeFile(path, "earlier\n", 0600);
    auto channel = log::FdLineChannel::appendingTo(path);
    channel->log(Poco::Message("test", "first", Poco::Message::PRIO_INFORMATION));
    ASSERT_EQ(::rename(path.c_str(), dir.file("rotator.log.1").c_str()), 0);
    channel->log(Poco::Message("test", "second", Poco::Message::PRIO_INFORMATION));
    const mode_t umask = ::umask(022); // a permissive umask, so the mode asked for shows
    channel->reopen();
    ::umask(umask);
    channel->log(Poco::Message("test", "third", Poco::Message::PRIO_INFORMATION));

    EXPECT_EQ(test::readFile(dir.file("rotator.log.1")), "earlier\nfirst\nsecond\n");
    EXPECT_EQ(test::readFile(path), "third\n");
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077 & ~0040U, 0U) << "a new log file is not for others";
}

TEST(FdLineChannel, AFileThatCannotBeOpenedIsNamedAndAFailedReopenKeepsTheOldFile)
{
    test::TempDir dir;
    try
    {
        log::FdLineChannel::appendingTo(dir.file("missing/rotator.log"));
        FAIL() << "opened a file in a missing directory";
    }
    catch (const std::runtime_error& e)
    {
        EXPECT_NE(std::string(e.what()).find(dir.file("missing/rotator.log")), std::string::npos)
            << e.what();
    }
    const auto logs = dir.file("logs");
    ASSERT_EQ(::mkdir(logs.c_str(), 0700), 0);
    auto channel = log::FdLineChannel::appendingTo(logs + "/rotator.log");
    ASSERT_EQ(::rename(logs.c_str(), dir.file("moved").c_str()), 0); // the path is gone
    EXPECT_THROW(channel->reopen(), std::runtime_error);
    channel->log(Poco::Message("test", "still here", Poco::Message::PRIO_INFORMATION));
    EXPECT_EQ(test::readFile(dir.file("moved/rotator.log")), "still here\n");
}

// The directories above the log file are checked from / as the state directory's are: their
// owner could otherwise swap the file (a link in a component, a directory others can write).
TEST(FdLineChannel, RefusesALogFileBelowALinkOrADirectoryOthersCanWrite)
{
    test::TempDir dir;
    const auto open = dir.file("open");
    ASSERT_EQ(::mkdir(open.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
    try
    {
        log::FdLineChannel::appendingTo(open + "/rotator.log");
        FAIL() << "opened a log file in a directory others can write";
    }
    catch (const std::runtime_error& e)
    {
        EXPECT_NE(std::string(e.what()).find("log file " + open + "/rotator.log: directory " +
                                             open + " (owner"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("is writable by others"), std::string::npos)
            << e.what();
    }
    EXPECT_NE(::access((open + "/rotator.log").c_str(), F_OK), 0) << "the file was created";

    const auto logs = dir.file("logs");
    ASSERT_EQ(::mkdir(logs.c_str(), 0700), 0);
    ASSERT_EQ(::symlink(logs.c_str(), dir.file("linked").c_str()), 0);
    try
    {
        log::FdLineChannel::appendingTo(dir.file("linked/rotator.log"));
        FAIL() << "opened a log file through a linked directory";
    }
    catch (const std::runtime_error& e)
    {
        EXPECT_NE(std::string(e.what()).find(dir.file("linked") + " is a symbolic link"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_NE(::access((logs + "/rotator.log").c_str(), F_OK), 0) << "the link was followed";
}

// The log file is opened O_NOFOLLOW and must be the rotator's alone: a link (to a file the
// rotator would then append to or create) or a file others can write is refused with log.file.
TEST(FdLineChannel, RefusesALinkAndALogFileOthersCanWriteOrAnotherUserOwns)
{
    test::TempDir dir;
    const auto refusal = [](const std::string& path)
    {
        try
        {
            log::FdLineChannel::appendingTo(path);
        }
        catch (const std::runtime_error& e)
        {
            return std::string(e.what());
        }
        return std::string();
    };
    ASSERT_EQ(::symlink(dir.file("elsewhere.log").c_str(), dir.file("link.log").c_str()), 0);
    const std::string link = refusal(dir.file("link.log"));
    EXPECT_NE(link.find("log file " + dir.file("link.log") + " is a symbolic link"),
              std::string::npos)
        << link;
    EXPECT_NE(::access(dir.file("elsewhere.log").c_str(), F_OK), 0) << "the link was followed";

    test::writeFile(dir.file("shared.log"), "", 0620);
    const std::string shared = refusal(dir.file("shared.log"));
    EXPECT_NE(shared.find("mode 0620) is writable by its group"), std::string::npos) << shared;

    test::writeFile(dir.file("mine.log"), "", 0600);
    ASSERT_EQ(::link(dir.file("mine.log").c_str(), dir.file("other.log").c_str()), 0);
    const std::string linked = refusal(dir.file("mine.log"));
    EXPECT_NE(linked.find("log file " + dir.file("mine.log") + " has 2 hard links"),
              std::string::npos)
        << linked;

    if (::geteuid() == 0)
    {
        test::writeFile(dir.file("theirs.log"), "", 0600);
        ASSERT_EQ(::chown(dir.file("theirs.log").c_str(), 65534, 65534), 0);
        const std::string theirs = refusal(dir.file("theirs.log"));
        EXPECT_NE(theirs.find("does not belong to the rotator's user"), std::string::npos)
            << theirs;
    }

    config::LogSettings settings;
    settings.file = dir.file("link.log");
    try
    {
        log::setupLogging(settings);
        FAIL() << "set up logging through a link";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "log.file");
    }
}
