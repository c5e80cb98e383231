#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "rotator/os/LineSplitter.h"

using rotator::os::LineSplitter;

TEST(LineSplitter, PassesEachLineWithItsLengthAndOffsetAcrossChunks)
{
    std::vector<std::string> texts;
    std::vector<std::size_t> offsets;
    LineSplitter lines(100,
                       [&](const LineSplitter::Line& line)
                       {
                           texts.emplace_back(line.text);
                           EXPECT_EQ(line.length, line.text.size());
                           offsets.push_back(line.offset);
                       });
    lines.feed("first li");
    lines.feed("ne\n\nthird\r\nlast");
    EXPECT_EQ(texts, (std::vector<std::string>{"first line", "", "third"}));
    lines.finish();
    EXPECT_EQ(texts, (std::vector<std::string>{"first line", "", "third", "last"}));
    EXPECT_EQ(offsets, (std::vector<std::size_t>{0, 11, 12, 19}));
    lines.finish();
    EXPECT_EQ(texts.size(), 4U) << "a finished stream has no further line";
}

TEST(LineSplitter, KeepsThePrefixOfALongLineAndCountsItsWholeLength)
{
    std::vector<std::pair<std::string, std::size_t>> seen;
    LineSplitter lines(4, [&](const LineSplitter::Line& line)
                       { seen.emplace_back(std::string(line.text), line.length); });
    lines.feed("abcdefgh\r\nxy\r\n");
    // A cut line keeps its '\r' in the count: it was not kept whole.
    EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::size_t>>{{"abcd", 9}, {"xy", 2}}));
}
