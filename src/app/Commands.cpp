#include "rotator/app/Commands.h"

#include <ostream>

#include "rotator/app/Daemon.h"
#include "rotator/app/Runtime.h"
#include "rotator/cli/Commands.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/report/Reports.h"

namespace rotator::app
{

namespace
{

int runOnce(const cli::CommandLine&, const config::Settings& settings, cli::Environment& env)
{
    Runtime runtime(settings, env, Runtime::Mode::Write);
    const auto report = runtime.engine().runPass();
    env.out << "pass: " << report.rotated << " rotated, " << report.failed << " failed, "
            << report.revoked << " revoked, " << report.confirmed << " confirmed, "
            << report.orphansRevoked << " orphan(s) revoked, " << report.unattributed
            << " unattributed, " << report.foreign << " foreign\n";
    for (const auto& e : report.errors)
    {
        env.err << "error: " << e << "\n";
    }
    // Cron and CronJobs have only the exit code: a credential left failed or quarantined by
    // this pass or an earlier one is a failure, whatever this pass did.
    bool unhealthy = false;
    for (const auto& c : settings.credentials)
    {
        const auto row = runtime.rows().findCredential(c.name);
        if (!row || !core::isFailing(row->state))
        {
            continue;
        }
        unhealthy = true;
        const auto last = runtime.rows().lastRotation(c.name);
        env.err << "error: credential " << c.name << " is " << row->state << " ("
                << row->consecutiveFailures << " consecutive failure(s))"
                << (last && last->error ? ": " + *last->error : std::string()) << "\n";
    }
    return report.failed > 0 || report.listFailed || unhealthy ? 1 : 0;
}

int rotate(const cli::CommandLine& cl, const config::Settings& settings, cli::Environment& env)
{
    if (cl.has("self") == !cl.arguments.empty())
    {
        throw core::UsageError("rotate: give a credential NAME or --self, not both");
    }
    const std::string name = cl.has("self") ? config::kAdminCredential : cl.arguments.at(0);
    if (name == config::kAdminCredential && !settings.findCredential(name))
    {
        throw core::ConfigError("astra.selfRotation.maxAge",
                                "is not set: self-rotation of the admin token is off");
    }
    if (!settings.findCredential(name))
    {
        throw core::UsageError("no credential named \"" + name + "\" in the configuration");
    }
    Runtime runtime(settings, env, Runtime::Mode::Write);
    const auto outcome = runtime.engine().rotateNow(name, cl.has("no-grace"));
    if (!outcome.ok)
    {
        env.err << "error: " << name << ": " << outcome.message << "\n";
        return 1;
    }
    const auto row = runtime.rows().findCredential(name);
    env.out << name << ": " << (outcome.resumed ? "interrupted rotation " : "rotation ")
            << outcome.rotationId << (outcome.resumed ? " resumed and" : "") << " delivered client "
            << (row ? row->currentClientId : std::string("?"));
    if (row && !row->previousClientId.empty() && row->revokeAfterMs)
    {
        env.out << "; previous client " << row->previousClientId << " is revoked after "
                << core::formatRfc3339Seconds(*row->revokeAfterMs) << " by a later pass";
    }
    else if (cl.has("no-grace"))
    {
        env.out << "; previous client revoked";
    }
    env.out << "\n";
    return 0;
}

int retire(const cli::CommandLine& cl, const config::Settings& settings, cli::Environment& env)
{
    const std::string& name = cl.arguments.at(0);
    if (settings.findCredential(name))
    {
        throw core::UsageError("credential \"" + name +
                               "\" is still configured; remove credentials." + name +
                               ".* from the configuration first");
    }
    Runtime runtime(settings, env, Runtime::Mode::Write);
    const auto outcome = runtime.engine().retire(name, cl.has("revoke"));
    if (!outcome.ok)
    {
        env.err << "error: " << name << ": " << outcome.message << "\n";
        return 1;
    }
    env.out << name << ": retired";
    for (const auto& id : outcome.revoked)
    {
        env.out << "; revoked " << id;
    }
    for (const auto& id : outcome.released)
    {
        env.out << "; " << id << " left alive, now unmanaged";
    }
    env.out << "\n";
    return 0;
}

int plan(const cli::CommandLine& cl, const config::Settings& settings, cli::Environment& env)
{
    Runtime runtime(settings, env, Runtime::Mode::ReadOnly);
    const auto items = runtime.engine().plan();
    if (cl.has("json"))
    {
        env.out << report::planJson(items) << "\n";
    }
    else
    {
        report::printPlan(env.out, items, env.clock.nowMs());
    }
    bool problems = false;
    for (const auto& i : items)
    {
        problems = problems || !i.problems.empty();
    }
    return problems ? 1 : 0;
}

} // namespace

std::vector<cli::Command> engineCommands()
{
    // The synopses are the lines of `--help`; the usage errors quote them up to the first two
    // spaces.
    return {
        {.name = "run-once",
         .synopsis = "run-once                   one full pass: sync, reconcile, rotate and revoke "
                     "what is due",
         .run = runOnce},
        {.name = "rotate",
         .minArgs = 0,
         .maxArgs = 1,
         .options = {{"no-grace"}, {"self"}},
         .synopsis = "rotate NAME|--self [--no-grace]\n"
                     "                           rotate one credential (--self: the admin token) "
                     "now",
         .run = rotate},
        {.name = "retire",
         .minArgs = 1,
         .maxArgs = 1,
         .options = {{"revoke"}},
         .synopsis = "retire NAME [--revoke]     end a credential no longer configured (revoke its "
                     "clients)",
         .run = retire},
        {.name = "plan",
         .options = {{"json"}},
         .synopsis = "plan [--json]              what a pass would do now; changes nothing",
         .run = plan},
    };
}

cli::CommandTable commandTable()
{
    std::vector<cli::Command> commands{serveCommand()};
    for (auto& c : engineCommands())
    {
        commands.push_back(std::move(c));
    }
    for (auto& c : cli::oneShotCommands())
    {
        commands.push_back(std::move(c));
    }
    return cli::CommandTable(std::move(commands));
}

} // namespace rotator::app
