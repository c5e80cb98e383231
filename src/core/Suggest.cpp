#include "rotator/core/Suggest.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace rotator::core
{

namespace
{

std::string toLower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// Edit distance counting a swap of two neighbours as one edit.
std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
    {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j)
    {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i)
    {
        for (std::size_t j = 1; j <= b.size(); ++j)
        {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
            {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

} // namespace

std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates)
{
    const std::string lower = toLower(word);
    std::string best;
    std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : candidates)
    {
        const std::size_t distance = editDistance(lower, toLower(candidate));
        // Short names get little slack: "g" is not a typo of "f".
        const std::size_t limit = candidate.size() <= 2 ? 0
                                  : candidate.size() <= 5
                                      ? 1
                                      : std::max<std::size_t>(2, candidate.size() / 3);
        if (distance <= limit && distance < bestDistance)
        {
            best = candidate;
            bestDistance = distance;
        }
    }
    return best;
}

} // namespace rotator::core
