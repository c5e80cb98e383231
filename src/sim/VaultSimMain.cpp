// `astra-store-sim vault`: the Vault simulator as a process, for scripts/demo and process
// tests. Loopback only; never a production service.

#include <csignal>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <pthread.h>

#include <Poco/Exception.h>

#include "Files.h"
#include "Program.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Errors.h"
#include "rotator/sim/StoreSimulators.h"
#include "rotator/sim/VaultSimulator.h"

namespace rotator::sim
{

namespace
{

constexpr const char* kHelp = R"(usage: astra-store-sim vault [options]

A HashiCorp Vault stand-in (KV version 2, token/kubernetes/approle auth) on 127.0.0.1.

  --port=N                 listen on N (default 0: any free port)
  --port-file=PATH         write the bound port here once listening
  --tls-cert=PEM --tls-key=PEM  serve HTTPS (both or neither)
  --mount=NAME             the KV version 2 mount (default secret)
  --namespace=NS           an Enterprise namespace besides the root one (repeatable)
  --cas-required           the mount requires check-and-set on every write
  --token-file=PATH        write a token (mode 0600) whose policy "astra-rotator" grants
                           create, read, update on MOUNT/data/* and read, update on
                           MOUNT/metadata/*
  --token-ttl=SECONDS      TTL of that token and of login tokens (default 0: none / 3600)
  --approle=ROLE_ID_FILE:SECRET_ID_FILE
                           write a random role ID and secret ID (mode 0600) an approle login
                           at auth/approle accepts, with the policy above
  --kubernetes-role=ROLE:JWT_FILE
                           a kubernetes login at auth/kubernetes as ROLE accepts the JWT the
                           file holds (read at start), with the policy above
  --log-requests           one line per request on stderr (no bodies, no headers)
  --fault=SPEC             KIND[:method=M,path=/v1/...,count=N,status=S,retryAfter=S,ms=N]
                           (latency, status, rate_limit, drop_after_commit,
                           tls_eof_after_commit, invalid_json, text_error, trickle)
  --help                   this text
)";

struct Args
{
    VaultSimulatorOptions options;
    std::string portFile;
    std::string tokenFile;
    std::int64_t ttlSeconds = 0;
    std::vector<std::pair<std::string, std::string>> approles;   ///< role ID file, secret ID file
    std::vector<std::pair<std::string, std::string>> kubernetes; ///< role, JWT file
    bool help = false;
};

std::pair<std::string, std::string> splitPair(const std::string& name, const std::string& value)
{
    const auto colon = value.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    {
        throw core::UsageError(name + " needs A:B");
    }
    return {value.substr(0, colon), value.substr(colon + 1)};
}

Args parseArgs(const std::vector<std::string>& argv)
{
    Args args;
    auto& o = args.options;
    o.server.name = "vault-sim";
    for (const auto& arg : argv)
    {
        const auto eq = arg.find('=');
        const std::string name = arg.substr(0, eq);
        const std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
        const bool flag = name == "--help" || name == "-h" || name == "--cas-required" ||
                          name == "--log-requests";
        if (flag != (eq == std::string::npos))
        {
            throw core::UsageError(name + (flag ? " takes no value" : " needs =VALUE"));
        }
        try
        {
            if (name == "--help" || name == "-h")
            {
                args.help = true;
            }
            else if (name == "--port")
            {
                const int port = std::stoi(value);
                if (port < 0 || port > 65535)
                {
                    throw core::UsageError("--port must be 0..65535");
                }
                o.server.port = static_cast<std::uint16_t>(port);
            }
            else if (name == "--port-file")
            {
                args.portFile = value;
            }
            else if (name == "--tls-cert")
            {
                o.server.tlsCertFile = value;
            }
            else if (name == "--tls-key")
            {
                o.server.tlsKeyFile = value;
            }
            else if (name == "--mount")
            {
                o.mount = value;
            }
            else if (name == "--namespace")
            {
                o.namespaces.push_back(value);
            }
            else if (name == "--cas-required")
            {
                o.casRequired = true;
            }
            else if (name == "--token-file")
            {
                args.tokenFile = value;
            }
            else if (name == "--token-ttl")
            {
                args.ttlSeconds = std::stoll(value);
            }
            else if (name == "--approle")
            {
                args.approles.push_back(splitPair(name, value));
            }
            else if (name == "--kubernetes-role")
            {
                args.kubernetes.push_back(splitPair(name, value));
            }
            else if (name == "--log-requests")
            {
                o.server.logRequests = true;
            }
            else if (name == "--fault")
            {
                FaultRule rule = parseFaultSpec(value);
                o.server.faults.push_back(rule);
            }
            else
            {
                throw core::UsageError("unknown option " + name);
            }
        }
        catch (const std::logic_error&) // std::stoi and friends
        {
            throw core::UsageError(name + ": not a number: " + value);
        }
    }
    if (o.server.tlsCertFile.empty() != o.server.tlsKeyFile.empty())
    {
        throw core::UsageError("--tls-cert and --tls-key go together");
    }
    return args;
}

std::string randomId()
{
    std::random_device device;
    std::uniform_int_distribution<int> hex(0, 15);
    std::string out;
    for (int i = 0; i < 36; ++i)
    {
        out += (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : "0123456789abcdef"[hex(device)];
    }
    return out;
}

} // namespace

int runVaultSimulator(const std::vector<std::string>& argv)
{
    Args args;
    return runSimulatorProgram(
        "astra-store-sim vault", kHelp,
        [&]
        {
            args = parseArgs(argv);
            return args.help;
        },
        [&](const ServeUntilSignal& serve)
        {
        core::SystemClock clock;
        VaultSimulator simulator(args.options, clock);
        const std::string& mount = args.options.mount;
        simulator.setPolicy("astra-rotator", {{mount + "/data/*", {"create", "read", "update"}},
                                              {mount + "/metadata/*", {"read", "update"}}});
        const std::int64_t loginTtl = args.ttlSeconds == 0 ? 3600 : args.ttlSeconds;
        if (!args.tokenFile.empty())
        {
            writeFileAtomically(
                args.tokenFile,
                simulator.createToken({"astra-rotator"}, args.ttlSeconds, args.ttlSeconds != 0) +
                    "\n");
        }
        for (const auto& [roleIdFile, secretIdFile] : args.approles)
        {
            const std::string roleId = randomId();
            const std::string secretId = randomId();
            writeFileAtomically(roleIdFile, roleId + "\n");
            writeFileAtomically(secretIdFile, secretId + "\n");
            simulator.addAppRole(roleId, secretId, {"astra-rotator"}, loginTtl);
        }
        for (const auto& [role, jwtFile] : args.kubernetes)
        {
            std::string jwt;
            if (!readWholeFile(jwtFile, jwt))
            {
                throw core::UsageError("--kubernetes-role: no such file " + jwtFile);
            }
            while (!jwt.empty() && (jwt.back() == '\n' || jwt.back() == '\r'))
            {
                jwt.pop_back();
            }
            simulator.addKubernetesRole(role, jwt, {"astra-rotator"}, loginTtl);
        }
        serve({simulator.server().port(), simulator.baseUrl(), "(mount " + mount + ")",
               args.portFile});
        simulator.stop();
        });
}

} // namespace rotator::sim
