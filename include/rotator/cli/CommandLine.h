#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rotator::cli
{

/// `astra-rotator [--config=FILE] COMMAND [ARGS] [--option[=value]]`, parsed by
/// `CommandTable::parse`.
struct CommandLine
{
    std::string configPath = "/etc/astra-rotator/astra-rotator.properties";
    bool configGiven = false;
    std::string command;                         ///< empty with --help / --version
    std::vector<std::string> arguments;          ///< positional arguments after the command
    std::map<std::string, std::string> options;  ///< command options; flags map to ""
    /// Every value of each option, in order (an option given twice keeps the last in `options`).
    std::map<std::string, std::vector<std::string>> values;
    bool help = false;
    bool version = false;

    bool has(const std::string& option) const { return options.count(option) > 0; }
    std::optional<std::string> get(const std::string& option) const
    {
        const auto it = options.find(option);
        if (it == options.end())
        {
            return std::nullopt;
        }
        return it->second;
    }
    /// Every value given for a repeatable option, in order; empty when it was not given.
    std::vector<std::string> all(const std::string& option) const
    {
        const auto it = values.find(option);
        return it == values.end() ? std::vector<std::string>() : it->second;
    }
};

} // namespace rotator::cli
