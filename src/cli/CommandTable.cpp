#include "rotator/cli/CommandTable.h"

#include <algorithm>
#include <stdexcept>

#include "rotator/core/Errors.h"
#include "rotator/core/Suggest.h"

namespace rotator::cli
{

namespace
{

/// " (did you mean \"x\"?)" when `word` looks like a typo of one of `candidates`.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates,
                       const std::string& prefix = "")
{
    const std::string guess = core::closestMatch(word, candidates);
    return guess.empty() ? std::string() : " (did you mean \"" + prefix + guess + "\"?)";
}

core::UsageError unknownCommand(const std::string& name, const std::vector<Command>& commands)
{
    std::vector<std::string> names;
    for (const auto& c : commands)
    {
        names.push_back(c.name);
    }
    return core::UsageError("unknown command \"" + name + "\"" + didYouMean(name, names) +
                            " (see astra-rotator --help)");
}

} // namespace

CommandTable::CommandTable(std::vector<Command> commands) : _commands(std::move(commands))
{
    for (auto it = _commands.begin(); it != _commands.end(); ++it)
    {
        if (!it->run)
        {
            throw std::logic_error("command " + it->name + " has no handler");
        }
        if (find(it->name) != &*it)
        {
            throw std::logic_error("command " + it->name + " is declared twice");
        }
    }
}

const Command* CommandTable::find(const std::string& name) const
{
    const auto it = std::find_if(_commands.begin(), _commands.end(),
                                 [&](const Command& c) { return c.name == name; });
    return it == _commands.end() ? nullptr : &*it;
}

std::string CommandTable::usage() const
{
    std::string text =
        "usage: astra-rotator [--config=FILE] COMMAND [options]\n\n"
        "Keeps DataStax Astra application tokens fresh: creates replacements on a schedule,\n"
        "delivers them to files or commands, verifies them, waits a grace period, then revokes\n"
        "the old clients.\n\ncommands:\n";
    for (const auto& c : _commands)
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

CommandLine CommandTable::parse(const std::vector<std::string>& args) const
{
    CommandLine cl;
    const Command* spec = nullptr;
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0 || arg == "--")
        {
            if (!spec)
            {
                spec = find(arg);
                if (!spec)
                {
                    throw unknownCommand(arg, _commands);
                }
                cl.command = arg;
            }
            else
            {
                cl.arguments.push_back(arg);
            }
            continue;
        }
        const auto eq = arg.find('=');
        const std::string name =
            arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
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
            std::vector<std::string> names;
            for (const auto& o : spec->options)
            {
                names.push_back(o.name);
            }
            throw core::UsageError("command " + spec->name + " has no option --" + name +
                                   didYouMean(name, names, "--"));
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
        cl.values[name].push_back(value.value_or(""));
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

int CommandTable::run(const CommandLine& commandLine, const config::Settings& settings,
                      Environment& env) const
{
    const Command* command = find(commandLine.command);
    if (!command)
    {
        throw unknownCommand(commandLine.command, _commands);
    }
    return command->run(commandLine, settings, env);
}

} // namespace rotator::cli
