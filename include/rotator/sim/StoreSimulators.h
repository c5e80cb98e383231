#pragma once

#include <string>
#include <vector>

namespace rotator::sim
{

// The `astra-store-sim STORE [options]` entry points, one per secret-store simulator. Each
// takes the arguments after STORE, serves until SIGINT or SIGTERM, and returns the exit code
// (64 for a usage error, naming the option).

int runKubernetesSimulator(const std::vector<std::string>& args);
int runVaultSimulator(const std::vector<std::string>& args);
int runAwsSimulator(const std::vector<std::string>& args);

} // namespace rotator::sim
