// One table, read by the parser, the usage text and the dispatcher.

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/app/Commands.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/cli/Commands.h"
#include "rotator/core/Errors.h"
#include "support/FakeClock.h"

namespace rotator::cli
{
namespace
{

/// `greet NAME [--loud] [--times=N]`, answering with what it was given.
Command greet()
{
    return {.name = "greet",
            .minArgs = 1,
            .maxArgs = 1,
            .options = {{"loud"}, {"times", true}},
            .synopsis = "greet NAME [--loud]        say hello",
            .run = [](const CommandLine& cl, const config::Settings&, Environment& env)
            {
                env.out << "hello " << cl.arguments.at(0) << (cl.has("loud") ? "!" : "") << " x"
                        << cl.get("times").value_or("1");
                return 7;
            }};
}

Command quiet()
{
    return {.name = "quiet",
            .synopsis = "quiet                      say nothing",
            .run = [](const CommandLine&, const config::Settings&, Environment&) { return 0; }};
}

TEST(CommandTable, TheParserTheUsageAndTheDispatcherReadTheSameEntries)
{
    const CommandTable table({greet(), quiet()});
    const auto cl = table.parse({"greet", "--times", "2", "world", "--loud"});
    std::ostringstream out;
    std::ostringstream err;
    test::FakeClock clock;
    Environment env{out, err, clock, {}, {}};
    EXPECT_EQ(table.run(cl, config::Settings{}, env), 7);
    EXPECT_EQ(out.str(), "hello world! x2");

    const std::string usage = table.usage();
    EXPECT_LT(usage.find("\n  greet NAME [--loud]        say hello\n"),
              usage.find("\n  quiet                      say nothing\n"));

    const auto message = [&](const std::vector<std::string>& args)
    {
        try
        {
            table.parse(args);
        }
        catch (const core::UsageError& e)
        {
            return std::string(e.what());
        }
        return std::string("(parsed)");
    };
    EXPECT_EQ(message({"greet"}), "usage: astra-rotator greet NAME [--loud]");
    EXPECT_EQ(message({"quiet", "x"}), "command quiet takes no arguments");
    EXPECT_EQ(message({"quiet", "--loud"}), "command quiet has no option --loud");
    EXPECT_EQ(message({"greet", "x", "--times"}), "--times needs a value");
    EXPECT_EQ(message({"shout"}), "unknown command \"shout\" (see astra-rotator --help)");
    // A typo gets the one it resembles.
    EXPECT_EQ(message({"greet", "x", "--lodu"}),
              "command greet has no option --lodu (did you mean \"--loud\"?)");
    EXPECT_EQ(message({"qiuet"}),
              "unknown command \"qiuet\" (did you mean \"quiet\"?) (see astra-rotator --help)");

    CommandLine unknown;
    unknown.command = "shout";
    EXPECT_THROW(table.run(unknown, config::Settings{}, env), core::UsageError);
}

TEST(CommandTable, RefusesACommandDeclaredTwiceOrWithoutAHandler)
{
    EXPECT_THROW(CommandTable({quiet(), greet(), quiet()}), std::logic_error);
    auto handless = quiet();
    handless.run = nullptr;
    EXPECT_THROW(CommandTable({greet(), handless}), std::logic_error);
}

TEST(CommandTable, TheApplicationsTableHoldsEveryCommandInHelpOrder)
{
    const auto table = app::commandTable();
    const std::vector<std::string> names = {"serve",   "run-once",     "rotate", "retire",
                                            "plan",    "sync",         "status", "ages",
                                            "history", "check-config", "migrate"};
    const std::string usage = table.usage();
    std::size_t previous = 0;
    for (const auto& name : names)
    {
        ASSERT_NE(table.find(name), nullptr) << name;
        const auto at = usage.find("\n  " + name + " ");
        ASSERT_NE(at, std::string::npos) << name;
        EXPECT_GT(at, previous) << name << " is out of order";
        previous = at;
    }
}

} // namespace
} // namespace rotator::cli
