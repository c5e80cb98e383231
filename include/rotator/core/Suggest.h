#pragma once

#include <string>
#include <vector>

namespace rotator::core
{

/// The candidate closest to `word` (case-insensitive), if it is close enough to be a typo, else
/// empty. Distances count an insertion, a deletion, a substitution or a swap of two neighbours
/// as one edit ("mdoe" is one typo from "mode"); short candidates get little slack: none up to
/// 2 characters, one up to 5, then a third of the length (at least 2). For "did you mean".
std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates);

} // namespace rotator::core
