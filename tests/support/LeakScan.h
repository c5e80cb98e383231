#pragma once

// The secrets scan of the process tests: every secret and token a run handled, searched for in
// everything the run left readable (logs, output, the database and its WAL, the state
// directory, answers of the admin API).

#include <map>
#include <string>
#include <vector>

namespace rotator::test
{

/// What counts as a leak of `token` (an `AstraCS:` token): the token and its secret hex part.
std::vector<std::string> tokenLeakForms(const std::string& token);

/// Adds the state directory's files to `searched` (named "rotator.db", "rotator.db-wal",
/// "rotator.db-shm" and "state/<name>" for every regular file in it).
void addStateFiles(std::map<std::string, std::string>& searched, const std::string& stateDir);

/// Fails the test once for each secret found in a searched text, naming the place and the
/// secret's index (never the secret).
void expectNoSecretIn(const std::map<std::string, std::string>& searched,
                      const std::vector<std::string>& secrets);

} // namespace rotator::test
