// astra-store-sim: local stand-ins for the secret stores the rotator delivers to (a Kubernetes
// API server's Secrets, HashiCorp Vault KV version 2, AWS Secrets Manager), for tests and
// scripts/demo. Never a production service: loopback only.

#include <iostream>
#include <string>
#include <vector>

#include "rotator/sim/StoreSimulators.h"

int main(int argc, char** argv)
{
    const std::string usage = "usage: astra-store-sim kubernetes|vault|aws [options] "
                              "(astra-store-sim STORE --help lists them)\n";
    if (argc < 2)
    {
        std::cerr << usage;
        return 64;
    }
    const std::string store = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    if (store == "kubernetes")
    {
        return rotator::sim::runKubernetesSimulator(args);
    }
    if (store == "vault")
    {
        return rotator::sim::runVaultSimulator(args);
    }
    if (store == "aws")
    {
        return rotator::sim::runAwsSimulator(args);
    }
    std::cerr << "astra-store-sim: unknown store '" << store << "'\n" << usage;
    return 64;
}
