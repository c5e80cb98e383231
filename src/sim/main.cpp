// astra-devops-sim: a thin shell over rotator::sim::Simulator.

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>


#include <Poco/Net/SocketAddress.h>

#include "Files.h"
#include "Program.h"
#include "rotator/core/Errors.h"
#include "rotator/sim/Simulator.h"

namespace
{

constexpr const char* kHelp = R"HELP(Usage: astra-devops-sim --admin-token-file=PATH [options]

A local stand-in for the Astra DevOps API token endpoints (docs/ASTRA-API.md): list, create
(POST /v2/clientIdSecrets and /v2/tokens), delete, /v2/currentOrg and the roles endpoints, with
injectable faults. It bootstraps an Organization Administrator token and writes it to the
admin token file. Loopback only; the org lives in memory unless --state-file is given.

Options:
  --listen=HOST:PORT          listen address (default 127.0.0.1:0, port 0 = any free port);
                              loopback hosts only (127.0.0.0/8, [::1], localhost)
  --tls-cert=PEM              serve HTTPS (TLS 1.2+) with this certificate chain ...
  --tls-key=PEM               ... and this private key; without both: plain HTTP
  --admin-token-file=PATH     required: where the bootstrap admin token is written (mode 0600);
                              reused after a restart if --state-file still knows it
  --state-file=PATH           keep the org in this JSON file (token hashes, never secrets)
  --port-file=PATH            write the bound port here once listening (for scripts)
  --seed=N                    seed of the org id and role ids of a new org (default 1)
  --role-casing=upper|lower   keys of GET /v2/organizations/roles: ID/Name/Type/Policy (upper,
                              default, as in the docs) or id/name/type/policy (as in the spec)
  --no-descriptions           list clients without description and tokenExpiry
  --hide-expired              leave expired tokens out of the list (default: listed, but 401)
  --delete-status=204|200     answer to a successful DELETE (default 204)
  --delete-unknown=404|204|400  answer to a DELETE of an unknown clientId (default 404)
  --latency=MS                delay every API answer by MS milliseconds
  --propagation-delay=MS      a new token gets 401 (ID 340018) until MS after its creation
  --fault=SPEC                inject a fault; repeatable (see below)
  --quiet                     no per-request lines on stderr
  --help                      this text

Fault SPEC: KIND[:key=value[,key=value...]]
  KIND   latency | status | rate_limit | drop_after_commit | tls_eof_after_commit |
         invalid_json | text_error | trickle
  method=GET|POST|DELETE|*    which requests (default *)
  path=PREFIX                 path prefix (default /v2/)
  count=N|inf                 how many matching requests it affects (default inf)
  status=CODE                 status, text_error (default 500), rate_limit (default 429)
  retryAfter=SECONDS          rate_limit: send a Retry-After header
  ms=MS                       latency: the delay; trickle: the pause between bytes (1000)
  drop_after_commit handles the request (a create is committed), then closes the connection
  without an answer; tls_eof_after_commit does the same but ends the TCP connection without a
  TLS close_notify (the client reads an unexpected EOF); invalid_json answers 200 with a
  truncated JSON body; trickle handles the request, then sends the whole answer one byte at a
  time. Examples:
    --fault=rate_limit:method=POST,path=/v2/clientIdSecrets,count=2,retryAfter=3
    --fault=drop_after_commit:method=POST,count=1
    --fault=tls_eof_after_commit:method=POST,count=1
    --fault=latency:ms=25000,count=1
    --fault=trickle:method=GET,ms=1000

At run time, with the admin token as Bearer, on the same listener:
  GET /_sim/state   POST /_sim/faults {"kind":"status","status":503,"count":1}
  DELETE /_sim/faults   POST /_sim/clients {"roles":["R/W Svc Acct"],"description":"demo"}
  POST /_sim/config {"propagationDelayMs":5000}   DELETE /_sim/requests

Example: try astra-rotator without an Astra account
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
      -keyout sim.key -out sim.pem
  astra-devops-sim --listen=127.0.0.1:8443 --tls-cert=sim.pem --tls-key=sim.key \
      --admin-token-file=admin.token --state-file=sim-state.json
  # in astra-rotator.properties:
  #   astra.url = https://127.0.0.1:8443
  #   astra.caFile = sim.pem
  #   astra.tokenFile = admin.token
  curl --cacert sim.pem -H "Authorization: Bearer $(cat admin.token)" \
      https://127.0.0.1:8443/v2/clientIdSecrets

Prints one line "astra-devops-sim listening on URL (org ORGID)" when ready, logs one line per
request on stderr (method, path, status, time; never headers or tokens), and exits 0 on SIGTERM
or SIGINT. Exit codes: 64 usage error, 1 start-up failure.
)HELP";

struct Args
{
    rotator::sim::SimulatorOptions options;
    std::string portFile;
    bool help = false;
};

std::int64_t parseNonNegative(const std::string& name, const std::string& value)
{
    std::size_t used = 0;
    long long n = -1;
    try
    {
        n = std::stoll(value, &used);
    }
    catch (const std::exception&)
    {
        used = 0;
    }
    if (used != value.size() || n < 0 || value.empty() || value[0] == '+')
    {
        throw rotator::core::UsageError(name + " must be a non-negative integer");
    }
    return n;
}

int parseChoice(const std::string& name, const std::string& value, const std::vector<int>& allowed)
{
    for (int choice : allowed)
    {
        if (value == std::to_string(choice))
        {
            return choice;
        }
    }
    throw rotator::core::UsageError(name + ": unsupported value '" + value + "'");
}

void parseListen(const std::string& value, rotator::sim::SimulatorOptions& options)
{
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0)
    {
        throw rotator::core::UsageError("--listen must be HOST:PORT");
    }
    std::string host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    {
        host = host.substr(1, host.size() - 2);
    }
    const std::int64_t port = parseNonNegative("--listen port", value.substr(colon + 1));
    if (port > 65535)
    {
        throw rotator::core::UsageError("--listen: port out of range");
    }
    options.host = host;
    options.port = static_cast<std::uint16_t>(port);
}

Args parseArgs(int argc, char** argv)
{
    Args args;
    auto& o = args.options;
    o.logRequests = true;
    for (int i = 1; i < argc; ++i)
    {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        const std::string name = arg.substr(0, eq);
        std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
        const bool flag = name == "--help" || name == "-h" || name == "--no-descriptions" ||
                          name == "--hide-expired" || name == "--quiet";
        if (!flag && eq == std::string::npos)
        {
            if (i + 1 >= argc)
            {
                throw rotator::core::UsageError(name + " needs a value");
            }
            value = argv[++i]; // also accept "--name value"
        }
        if (flag && eq != std::string::npos)
        {
            throw rotator::core::UsageError(name + " takes no value");
        }

        if (name == "--help" || name == "-h")
        {
            args.help = true;
        }
        else if (name == "--no-descriptions")
        {
            o.descriptions = false;
        }
        else if (name == "--hide-expired")
        {
            o.listExpired = false;
        }
        else if (name == "--quiet")
        {
            o.logRequests = false;
        }
        else if (name == "--listen")
        {
            parseListen(value, o);
        }
        else if (name == "--tls-cert")
        {
            o.tlsCertFile = value;
        }
        else if (name == "--tls-key")
        {
            o.tlsKeyFile = value;
        }
        else if (name == "--admin-token-file")
        {
            o.adminTokenFile = value;
        }
        else if (name == "--state-file")
        {
            o.stateFile = value;
        }
        else if (name == "--port-file")
        {
            args.portFile = value;
        }
        else if (name == "--seed")
        {
            o.seed = static_cast<std::uint64_t>(parseNonNegative("--seed", value));
        }
        else if (name == "--role-casing")
        {
            if (value != "upper" && value != "lower")
            {
                throw rotator::core::UsageError("--role-casing must be upper or lower");
            }
            o.roleCasing = value == "upper" ? rotator::sim::RoleCasing::Upper
                                            : rotator::sim::RoleCasing::Lower;
        }
        else if (name == "--delete-status")
        {
            o.deleteStatus = parseChoice(name, value, {204, 200});
        }
        else if (name == "--delete-unknown")
        {
            o.deleteUnknownStatus = parseChoice(name, value, {404, 204, 400});
        }
        else if (name == "--latency")
        {
            o.latencyMs = parseNonNegative(name, value);
        }
        else if (name == "--propagation-delay")
        {
            o.propagationDelayMs = parseNonNegative(name, value);
        }
        else if (name == "--fault")
        {
            o.faults.push_back(rotator::sim::parseFaultSpec(value));
        }
        else
        {
            throw rotator::core::UsageError("unknown option " + name);
        }
    }
    if (!args.help && o.adminTokenFile.empty())
    {
        throw rotator::core::UsageError("--admin-token-file is required");
    }
    if (o.tlsCertFile.empty() != o.tlsKeyFile.empty())
    {
        throw rotator::core::UsageError("--tls-cert and --tls-key go together");
    }
    return args;
}

} // namespace

int main(int argc, char** argv)
{
    Args args;
    return rotator::sim::runSimulatorProgram(
        "astra-devops-sim", kHelp,
        [&]
        {
            args = parseArgs(argc, argv);
            return args.help;
        },
        [&](const rotator::sim::ServeUntilSignal& serve)
        {
            rotator::sim::Simulator simulator(args.options);
            serve({simulator.port(), simulator.baseUrl(), "(org " + simulator.orgId() + ")",
                   args.portFile});
            simulator.stop();
        });
}
