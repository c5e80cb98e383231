#include "support/LeakScan.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "support/RotationHarness.h"
#include "support/TempDir.h"

namespace rotator::test
{

std::vector<std::string> tokenLeakForms(const std::string& token)
{
    // "AstraCS:" and the 24-character client id with its colon come before the secret part.
    return {token, token.substr(8 + 25)};
}

void addStateFiles(std::map<std::string, std::string>& searched, const std::string& stateDir)
{
    for (const std::string name : {"rotator.db", "rotator.db-wal", "rotator.db-shm"})
    {
        searched[name] = readFile(stateDir + "/" + name);
    }
    for (const auto& name : listing(stateDir))
    {
        if (std::filesystem::is_regular_file(stateDir + "/" + name))
        {
            searched["state/" + name] = readFile(stateDir + "/" + name);
        }
    }
}

void expectNoSecretIn(const std::map<std::string, std::string>& searched,
                      const std::vector<std::string>& secrets)
{
    for (const auto& [where, text] : searched)
    {
        for (std::size_t i = 0; i < secrets.size(); ++i)
        {
            EXPECT_EQ(text.find(secrets[i]), std::string::npos)
                << "secret #" << i << " found in " << where;
        }
    }
}

} // namespace rotator::test
