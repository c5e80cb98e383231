// `plan`'s two renderings, from plan items alone (the engine's dry run has its own tests).

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/core/Time.h"
#include "rotator/report/Reports.h"
#include "rotator/rotation/RotationEngine.h"

namespace rotator::report
{
namespace
{

constexpr std::int64_t kNow = 1'790'000'000'000;
constexpr std::int64_t kHour = 3'600'000;

/// billing: due now, with an action, a problem and a warning; payroll: due in an hour;
/// app: retired, nothing scheduled.
std::vector<rotation::PlanItem> items()
{
    rotation::PlanItem billing;
    billing.credential = "billing";
    billing.dueNow = true;
    billing.nextAtMs = kNow - kHour;
    billing.reason = "the current client is older than maxAge";
    billing.actions = {"would mint a client", "would write file sink a"};
    billing.problems = {"sink a: directory not writable"};
    billing.warnings = {"adopted client has other roles"};
    rotation::PlanItem payroll;
    payroll.credential = "payroll";
    payroll.nextAtMs = kNow + kHour;
    payroll.reason = "maxAge";
    rotation::PlanItem app;
    app.credential = "app";
    app.reason = "retired: no longer configured";
    return {billing, payroll, app};
}

TEST(PlanReport, JsonHasOneObjectPerItemWithTheDocumentedKeysInOrder)
{
    const std::string json = planJson(items());
    const auto root = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
    std::vector<std::string> rootKeys;
    root->getNames(rootKeys);
    EXPECT_EQ(rootKeys, std::vector<std::string>{"plan"});
    const auto plan = root->getArray("plan");
    ASSERT_EQ(plan->size(), 3u);

    const auto billing = plan->getObject(0);
    EXPECT_EQ(billing->getValue<std::string>("credential"), "billing");
    EXPECT_TRUE(billing->get("dueNow").extract<bool>());
    EXPECT_EQ(billing->getValue<std::string>("nextRotationAt"),
              core::formatRfc3339Seconds(kNow - kHour));
    EXPECT_EQ(billing->getValue<std::string>("reason"), "the current client is older than maxAge");
    ASSERT_EQ(billing->getArray("actions")->size(), 2u);
    EXPECT_EQ(billing->getArray("actions")->getElement<std::string>(1), "would write file sink a");
    ASSERT_EQ(billing->getArray("problems")->size(), 1u);
    ASSERT_EQ(billing->getArray("warnings")->size(), 1u);

    const auto app = plan->getObject(2);
    EXPECT_FALSE(app->get("dueNow").extract<bool>());
    EXPECT_TRUE(app->isNull("nextRotationAt"));
    EXPECT_TRUE(app->isArray("actions"));
    EXPECT_EQ(app->getArray("actions")->size(), 0u);
    EXPECT_EQ(app->getArray("problems")->size(), 0u);
    EXPECT_EQ(app->getArray("warnings")->size(), 0u);

    // The keys of an item keep the documented order, and the text is one line.
    EXPECT_NE(json.find(R"({"credential":"app","dueNow":false,"nextRotationAt":null,)"
                        R"("reason":"retired: no longer configured","actions":[],"problems":[],)"
                        R"("warnings":[]})"),
              std::string::npos)
        << json;
    EXPECT_EQ(json.find('\n'), std::string::npos);
}

TEST(PlanReport, JsonOfNoItemsIsAnEmptyPlan)
{
    EXPECT_EQ(planJson({}), R"({"plan":[]})");
}

TEST(PlanReport, TextSaysWhenAndWhyThenTheActionsProblemsAndWarnings)
{
    std::ostringstream out;
    printPlan(out, items(), kNow);
    EXPECT_EQ(out.str(), "billing: due now\n"
                         "  why: the current client is older than maxAge\n"
                         "  would mint a client\n"
                         "  would write file sink a\n"
                         "  problem: sink a: directory not writable\n"
                         "  warning: adopted client has other roles\n"
                         "payroll: next rotation " +
                             core::formatRfc3339Seconds(kNow + kHour) +
                             "\n"
                             "  why: maxAge\n"
                             "app: not scheduled\n"
                             "  why: retired: no longer configured\n");

    // A next rotation the clock has reached is marked due.
    out.str("");
    printPlan(out, items(), kNow + kHour);
    EXPECT_NE(out.str().find("payroll: next rotation " + core::formatRfc3339Seconds(kNow + kHour) +
                             " (due)\n"),
              std::string::npos)
        << out.str();

    out.str("");
    printPlan(out, {}, kNow);
    EXPECT_EQ(out.str(), "no credentials configured\n");
}

} // namespace
} // namespace rotator::report
