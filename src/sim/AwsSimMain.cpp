#include <iostream>
#include <sstream>


#include "Files.h"
#include "Program.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Errors.h"
#include "rotator/sim/AwsSimulator.h"
#include "rotator/sim/StoreSimulators.h"

namespace rotator::sim
{

namespace
{


const char* const kHelp = R"(usage: astra-store-sim aws [options]

AWS Secrets Manager (JSON 1.1 API at POST /, Signature Version 4 verified), STS
AssumeRoleWithWebIdentity (/sts/), the container credentials endpoint (/container/credentials)
and IMDSv2 (/latest/...) on one loopback listener, for tests and scripts/demo.

  --port=N                listen on this port (default 0: any free port)
  --port-file=PATH        write the bound port here once listening
  --tls-cert=PEM          serve HTTPS with this certificate ...
  --tls-key=PEM           ... and key (both or neither; the sink needs https or loopback http)
  --region=NAME           region signatures must be scoped to (default us-east-1)
  --access-keys=FILE      access keys to accept, one per line:
                          ACCESS_KEY_ID SECRET_ACCESS_KEY [Action,Action,...]
                          (no actions: all; e.g. GetSecretValue,PutSecretValue)
  --secret=NAME           create this secret (without a value) at start; repeatable
  --fault=SPEC            inject a fault (see astra-devops-sim --help), path prefix default /
  --log-requests          one line per request on stderr (path and status; never headers)
  --help                  this text

Exits 0 on SIGTERM or SIGINT.
)";

struct Args
{
    AwsSimulatorOptions options;
    std::string portFile;
    std::string accessKeysFile;
    std::vector<std::string> secrets;
    bool help = false;
};

Args parseArgs(const std::vector<std::string>& argv)
{
    Args args;
    for (const std::string& arg : argv)
    {
        const std::size_t eq = arg.find('=');
        const std::string name = arg.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
        const auto needValue = [&]
        {
            if (eq == std::string::npos || value.empty())
            {
                throw core::UsageError(name + " needs a value (" + name + "=...)");
            }
        };
        if (name == "--help")
        {
            args.help = true;
        }
        else if (name == "--log-requests")
        {
            args.options.server.logRequests = true;
        }
        else if (name == "--port")
        {
            needValue();
            const int port = std::stoi(value);
            if (port < 0 || port > 65535 ||
                value.find_first_not_of("0123456789") != std::string::npos)
            {
                throw core::UsageError("--port: a number from 0 to 65535");
            }
            args.options.server.port = static_cast<std::uint16_t>(port);
        }
        else if (name == "--port-file" || name == "--tls-cert" || name == "--tls-key" ||
                 name == "--region" || name == "--access-keys" || name == "--secret")
        {
            needValue();
            if (name == "--port-file")
            {
                args.portFile = value;
            }
            else if (name == "--tls-cert")
            {
                args.options.server.tlsCertFile = value;
            }
            else if (name == "--tls-key")
            {
                args.options.server.tlsKeyFile = value;
            }
            else if (name == "--region")
            {
                args.options.region = value;
            }
            else if (name == "--access-keys")
            {
                args.accessKeysFile = value;
            }
            else
            {
                args.secrets.push_back(value);
            }
        }
        else if (name == "--fault")
        {
            needValue();
            FaultRule rule = parseFaultSpec(value);
            if (value.find("path=") == std::string::npos)
            {
                rule.pathPrefix.assign(1, '/'); // Secrets Manager is all POST /
            }
            args.options.server.faults.push_back(rule);
        }
        else
        {
            throw core::UsageError("unknown option " + name);
        }
    }
    if (args.options.server.tlsCertFile.empty() != args.options.server.tlsKeyFile.empty())
    {
        throw core::UsageError("--tls-cert and --tls-key go together");
    }
    if (!args.help && args.accessKeysFile.empty())
    {
        throw core::UsageError("--access-keys is required");
    }
    return args;
}

void loadAccessKeys(AwsSimulator& simulator, const std::string& path)
{
    std::string text;
    if (!readWholeFile(path, text))
    {
        throw core::UsageError("--access-keys: cannot read " + path);
    }
    std::istringstream lines(text);
    std::string line;
    int loaded = 0;
    while (std::getline(lines, line))
    {
        std::istringstream words(line);
        std::string id, secret, actions;
        if (!(words >> id) || id[0] == '#')
        {
            continue;
        }
        if (!(words >> secret))
        {
            throw core::UsageError("--access-keys: a line has a key id without its secret");
        }
        words >> actions;
        std::set<std::string> allowed;
        for (std::size_t start = 0; start < actions.size();)
        {
            const std::size_t comma = std::min(actions.find(',', start), actions.size());
            allowed.insert(actions.substr(start, comma - start));
            start = comma + 1;
        }
        simulator.addAccessKey(id, secret, allowed);
        ++loaded;
    }
    if (loaded == 0)
    {
        throw core::UsageError("--access-keys: " + path + " lists no key");
    }
}

} // namespace

int runAwsSimulator(const std::vector<std::string>& argv)
{
    Args args;
    return runSimulatorProgram(
        "astra-store-sim aws", kHelp,
        [&]
        {
            args = parseArgs(argv);
            return args.help;
        },
        [&](const ServeUntilSignal& serve)
        {
        core::SystemClock clock;
        AwsSimulator simulator(args.options, clock);
        loadAccessKeys(simulator, args.accessKeysFile);
        for (const auto& secret : args.secrets)
        {
            simulator.createSecret(secret);
        }
        serve({simulator.server().port(), simulator.baseUrl(),
               "(region " + args.options.region + ")", args.portFile});
        });
}

} // namespace rotator::sim
