#include "rotator/app/Runtime.h"

#include <ostream>

#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/report/Reports.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/SqliteStateStore.h"

namespace rotator::app
{

Runtime::Runtime(const config::Settings& settings, cli::Environment& env, Mode mode)
    : _dir(settings.state.dir)
{
    if (mode == Mode::Write)
    {
        _dir.prepare();
        _dir.lock();
        _store = std::make_unique<store::SqliteStateStore>(_dir.databasePath());
    }
    else
    {
        _store = cli::openStoreForReading(settings);
    }
    _api = cli::connectApi(settings, env);
    std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
    for (const auto& s : settings.sinks)
    {
        sinks[s.name] = sink::makeSink(s);
    }
    _engine = std::make_unique<rotation::RotationEngine>(
        settings, *_api, *_store, std::move(sinks), rotation::PendingFiles(_dir.pendingDir()),
        env.clock);
}

Runtime::~Runtime()
{
    // Reverse order of construction: the engine uses the API, the store and the lock.
    _engine.reset();
    _api.reset();
    _store.reset();
}

namespace
{

int runOnce(const config::Settings& settings, cli::Environment& env)
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
        const auto row = runtime.store().findCredential(c.name);
        if (!row || (row->state != "failed" && row->state != "quarantined"))
        {
            continue;
        }
        unhealthy = true;
        const auto last = runtime.store().lastRotation(c.name);
        env.err << "error: credential " << c.name << " is " << row->state << " ("
                << row->consecutiveFailures << " consecutive failure(s))"
                << (last && last->error ? ": " + *last->error : std::string()) << "\n";
    }
    return report.failed > 0 || report.listFailed || unhealthy ? 1 : 0;
}

int rotate(const cli::CommandLine& cl, const config::Settings& settings, cli::Environment& env)
{
    const std::string& name = cl.arguments.at(0);
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
    const auto row = runtime.store().findCredential(name);
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

int runEngineCommand(const cli::CommandLine& cl, const config::Settings& settings,
                     cli::Environment& env)
{
    if (cl.command == "run-once")
    {
        return runOnce(settings, env);
    }
    if (cl.command == "rotate")
    {
        return rotate(cl, settings, env);
    }
    if (cl.command == "plan")
    {
        return plan(cl, settings, env);
    }
    if (cl.command == "retire")
    {
        return retire(cl, settings, env);
    }
    throw core::UsageError("unknown engine command " + cl.command);
}

} // namespace rotator::app
