#include "rotator/cli/CommandLine.h"

#include <algorithm>

#include "rotator/core/Errors.h"

namespace rotator::cli
{

namespace
{

struct OptionSpec
{
    std::string name;
    bool takesValue;
};

struct CommandSpec
{
    std::string name;
    std::size_t minArgs;
    std::size_t maxArgs;
    std::vector<OptionSpec> options;
    std::string synopsis;
};

const std::vector<CommandSpec>& commands()
{
    static const std::vector<CommandSpec> kCommands = {
        {"serve", 0, 0, {}, "serve                      run the scheduler until SIGTERM/SIGINT"},
        {"run-once", 0, 0, {}, "run-once                   one full pass: sync, reconcile, rotate and revoke what is due"},
        {"rotate", 1, 1, {{"no-grace", false}}, "rotate NAME [--no-grace]   rotate one credential now"},
        {"retire", 1, 1, {{"revoke", false}}, "retire NAME [--revoke]     end a credential no longer configured (revoke its clients)"},
        {"plan", 0, 0, {{"json", false}}, "plan [--json]              what a pass would do now; changes nothing"},
        {"sync", 0, 0, {}, "sync                       refresh the inventory from the API"},
        {"status", 0, 0, {{"json", false}}, "status [--json]            one row per credential"},
        {"ages",
         0,
         0,
         {{"json", false}, {"unmanaged", false}, {"older-than", true}, {"all", false}},
         "ages [--json] [--unmanaged] [--older-than=90d] [--all]\n"
         "                           every client in the inventory with its age"},
        {"history",
         0,
         0,
         {{"json", false}, {"credential", true}, {"client", true}, {"since", true}, {"limit", true}},
         "history [--credential=NAME] [--client=ID] [--since=7d] [--limit=N] [--json]\n"
         "                           events, newest first"},
        {"check-config", 0, 0, {{"offline", false}},
         "check-config [--offline]   validate the configuration (and roles, unless offline)"},
        {"migrate", 0, 0, {}, "migrate                    create or upgrade the database"},
    };
    return kCommands;
}

} // namespace

std::optional<std::string> CommandLine::get(const std::string& option) const
{
    const auto it = options.find(option);
    if (it == options.end())
    {
        return std::nullopt;
    }
    return it->second;
}

std::string usageText()
{
    std::string text =
        "usage: astra-rotator [--config=FILE] COMMAND [options]\n\n"
        "Keeps DataStax Astra application tokens fresh: creates replacements on a schedule,\n"
        "delivers them to files or commands, verifies them, waits a grace period, then revokes\n"
        "the old clients.\n\ncommands:\n";
    for (const auto& c : commands())
    {
        text += "  " + c.synopsis + "\n";
    }
    text += "\nglobal options:\n"
            "  --config=FILE              default /etc/astra-rotator/astra-rotator.properties\n"
            "  --help, --version\n\n"
            "exit codes: 0 success, 1 the operation failed (for `ages --older-than`: stale\n"
            "clients found), 64 usage error, 78 configuration error\n";
    return text;
}

CommandLine parseCommandLine(const std::vector<std::string>& args)
{
    CommandLine cl;
    const CommandSpec* spec = nullptr;
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0 || arg == "--")
        {
            if (!spec)
            {
                const auto& all = commands();
                const auto it = std::find_if(all.begin(), all.end(),
                                             [&](const CommandSpec& c) { return c.name == arg; });
                if (it == all.end())
                {
                    throw core::UsageError("unknown command \"" + arg +
                                           "\" (see astra-rotator --help)");
                }
                spec = &*it;
                cl.command = arg;
            }
            else
            {
                cl.arguments.push_back(arg);
            }
            continue;
        }
        const auto eq = arg.find('=');
        const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        std::optional<std::string> value;
        if (eq != std::string::npos)
        {
            value = arg.substr(eq + 1);
        }
        if (name == "help" || name == "version")
        {
            if (value)
            {
                throw core::UsageError("--" + name + " takes no value");
            }
            (name == "help" ? cl.help : cl.version) = true;
            continue;
        }
        if (name == "config")
        {
            if (!value)
            {
                if (i + 1 >= args.size())
                {
                    throw core::UsageError("--config needs a file");
                }
                value = args[++i];
            }
            if (value->empty())
            {
                throw core::UsageError("--config needs a file");
            }
            cl.configPath = *value;
            cl.configGiven = true;
            continue;
        }
        if (!spec)
        {
            throw core::UsageError("unknown option --" + name +
                                   " (command options go after the command)");
        }
        const auto opt = std::find_if(spec->options.begin(), spec->options.end(),
                                      [&](const OptionSpec& o) { return o.name == name; });
        if (opt == spec->options.end())
        {
            throw core::UsageError("command " + spec->name + " has no option --" + name);
        }
        if (opt->takesValue && !value)
        {
            if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0)
            {
                throw core::UsageError("--" + name + " needs a value");
            }
            value = args[++i];
        }
        if (!opt->takesValue && value)
        {
            throw core::UsageError("--" + name + " takes no value");
        }
        cl.options[name] = value.value_or("");
    }
    if (!spec)
    {
        if (!cl.help && !cl.version)
        {
            throw core::UsageError("no command given (see astra-rotator --help)");
        }
        return cl;
    }
    if (cl.arguments.size() < spec->minArgs || cl.arguments.size() > spec->maxArgs)
    {
        throw core::UsageError(spec->maxArgs == 0
                                   ? "command " + spec->name + " takes no arguments"
                                   : "usage: astra-rotator " +
                                         spec->synopsis.substr(0, spec->synopsis.find("  ")));
    }
    return cl;
}

} // namespace rotator::cli
