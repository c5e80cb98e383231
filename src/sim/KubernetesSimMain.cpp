#include <signal.h>

#include <iostream>
#include <random>

#include "Files.h"
#include "Program.h"
#include "rotator/core/Errors.h"
#include "rotator/sim/KubernetesSimulator.h"
#include "rotator/sim/StoreSimulators.h"

namespace rotator::sim
{

namespace
{


const char* const kHelp =
    R"(usage: astra-store-sim kubernetes [options]

A local stand-in for a Kubernetes API server's Secrets, apps/v1 workloads and
SelfSubjectAccessReview, for tests and scripts/demo. Loopback only.

  --port=N               listen on this port (default 0: any free port)
  --port-file=PATH       write the bound port here once listening
  --tls-cert=PEM --tls-key=PEM
                         serve HTTPS with this certificate (default: plain HTTP)
  --namespace=NS         the namespace that exists (default: default)
  --token-file=PATH      write a new bearer token here (mode 0600) with every right in
                         the namespace, as system:serviceaccount:NS:astra-rotator
  --deployment=NAME, --statefulset=NAME, --daemonset=NAME
                         a workload in the namespace that a sink may restart
  --log-requests         one line per request on stderr (method, path, status)
  --fault=SPEC           inject a fault, e.g. status:method=PATCH,status=503,count=1
                         or drop_after_commit:method=POST (path defaults to /api)
  --help                 this text
)";

std::string randomToken()
{
    std::random_device random;
    std::string token;
    const char* hex = "0123456789abcdef";
    for (int i = 0; i < 48; ++i)
    {
        token += hex[random() % 16];
    }
    return token;
}

struct Args
{
    StoreServerOptions server;
    std::string portFile;
    std::string namespaceName = "default";
    std::string tokenFile;
    std::vector<std::pair<std::string, std::string>> workloads; ///< kind, name
    bool help = false;
};

Args parseArgs(const std::vector<std::string>& argv)
{
    Args args;
    for (const auto& arg : argv)
    {
        const std::size_t eq = arg.find('=');
        const std::string name = arg.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
        if (name == "--help" || name == "-h")
        {
            args.help = true;
        }
        else if (name == "--port")
        {
            const int port = std::stoi(value);
            if (port < 0 || port > 65535)
            {
                throw core::UsageError("--port must be 0 to 65535");
            }
            args.server.port = static_cast<std::uint16_t>(port);
        }
        else if (name == "--port-file")
        {
            args.portFile = value;
        }
        else if (name == "--tls-cert")
        {
            args.server.tlsCertFile = value;
        }
        else if (name == "--tls-key")
        {
            args.server.tlsKeyFile = value;
        }
        else if (name == "--namespace")
        {
            args.namespaceName = value;
        }
        else if (name == "--token-file")
        {
            args.tokenFile = value;
        }
        else if (name == "--deployment" || name == "--statefulset" || name == "--daemonset")
        {
            args.workloads.emplace_back(name.substr(2) + "s", value);
        }
        else if (name == "--log-requests")
        {
            args.server.logRequests = true;
        }
        else if (name == "--fault")
        {
            FaultRule rule = parseFaultSpec(value);
            if (value.find("path=") == std::string::npos)
            {
                rule.pathPrefix = "/api"; // both /api/v1 and /apis/...
            }
            args.server.faults.push_back(rule);
        }
        else
        {
            throw core::UsageError("unknown option " + name);
        }
    }
    if (args.server.tlsCertFile.empty() != args.server.tlsKeyFile.empty())
    {
        throw core::UsageError("--tls-cert and --tls-key go together");
    }
    return args;
}

} // namespace

int runKubernetesSimulator(const std::vector<std::string>& argv)
{
    Args args;
    return runSimulatorProgram(
        "astra-store-sim kubernetes", kHelp,
        [&]
        {
            args = parseArgs(argv);
            return args.help;
        },
        [&](const ServeUntilSignal& serve)
        {
        args.server.name = "kubernetes-sim";
        KubernetesSimulator simulator(args.server);
        simulator.addNamespace(args.namespaceName);
        for (const auto& [kind, name] : args.workloads)
        {
            simulator.addWorkload(kind, args.namespaceName, name);
        }
        if (!args.tokenFile.empty())
        {
            const std::string token = randomToken();
            simulator.addFullAccessToken(token, args.namespaceName);
            writeFileAtomically(args.tokenFile, token + "\n", 0600);
        }
        serve({simulator.server().port(), simulator.baseUrl(),
               "(namespace " + args.namespaceName + ")", args.portFile});
        });
}

} // namespace rotator::sim
