#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "rotator/cli/CommandLine.h"
#include "rotator/config/Settings.h"

namespace rotator::cli
{

struct Environment;

/// Runs one parsed command and returns its exit code: 0 success, 1 the operation failed.
/// Throws core::ConfigError (exit 78), core::UsageError (exit 64) and core::StoreError (exit 1);
/// the caller prints them.
using CommandHandler =
    std::function<int(const CommandLine&, const config::Settings&, Environment&)>;

/// An option of one command: `--name` (a flag) or `--name=VALUE` / `--name VALUE`.
struct OptionSpec
{
    std::string name = {};
    bool takesValue = false;
};

/// One command: its grammar, its lines of `--help`, and what runs it.
struct Command
{
    std::string name = {};
    std::size_t minArgs = 0;
    std::size_t maxArgs = 0;
    std::vector<OptionSpec> options = {};
    std::string synopsis = {}; ///< its `--help` entry; up to two spaces, its usage errors' line
    CommandHandler run = {};
};

/// The commands of `astra-rotator`, in `--help` order: the parser reads their options and
/// argument counts, `usage()` their synopses and `run()` their handlers, so that a command is
/// declared in one place. cli/ declares the one-shot commands (`oneShotCommands()`, Commands.h);
/// app/ declares `serve` and the engine commands and builds the whole table
/// (`app::commandTable()`), so cli/ never depends on app/. Immutable; safe to read from any
/// thread. The constructor throws std::logic_error on a duplicate name or a missing handler.
class CommandTable
{
public:
    explicit CommandTable(std::vector<Command> commands);

    /// nullptr when there is no such command.
    const Command* find(const std::string& name) const;

    /// Parses argv (without argv[0]). Global options (`--config`, `--help`, `--version`) may
    /// come anywhere; each command accepts only its own options and argument count. Throws
    /// core::UsageError with a message naming the offending word.
    CommandLine parse(const std::vector<std::string>& args) const;

    /// The usage text (`--help`).
    std::string usage() const;

    /// Runs the parsed command's handler (see CommandHandler); core::UsageError for a command
    /// the table does not hold.
    int run(const CommandLine& commandLine, const config::Settings& settings,
            Environment& env) const;

private:
    std::vector<Command> _commands;
};

} // namespace rotator::cli
