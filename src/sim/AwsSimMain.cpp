#include <iostream>

#include "rotator/sim/StoreSimulators.h"

namespace rotator::sim
{

int runAwsSimulator(const std::vector<std::string>&)
{
    std::cerr << "astra-store-sim: this store is not simulated yet\n";
    return 69;
}

} // namespace rotator::sim
