#include <sstream>

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>
#include <Poco/StreamChannel.h>

#include "rotator/core/Redact.h"
#include "rotator/log/Logging.h"

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
