#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace rotator::os
{

/// Cuts a stream of output into lines at '\n' for a line handler, as a child's output arrives.
/// Keeps at most `keep` bytes of each line (a longer line is cut, its full length still
/// counted), and drops the '\r' of a "\r\n" ending when the line was kept whole. Every line is
/// passed on, empty ones included. Wipes what it holds, since the output may echo a secret.
/// Not thread-safe.
class LineSplitter
{
public:
    struct Line
    {
        std::string_view text; ///< at most `keep` bytes of the line, without the newline
        std::size_t length;    ///< the whole line's length
        std::size_t offset;    ///< where the line starts in the stream
    };
    using Handler = std::function<void(const Line&)>;

    LineSplitter(std::size_t keep, Handler onLine);
    LineSplitter(const LineSplitter&) = delete;
    LineSplitter& operator=(const LineSplitter&) = delete;
    ~LineSplitter();

    void feed(std::string_view chunk);
    /// Ends a last line that had no newline.
    void finish();

private:
    void endLine();

    std::size_t _keep;
    Handler _onLine;
    std::string _line;
    std::size_t _lineLength = 0;
    std::size_t _lineStart = 0;
    std::size_t _total = 0;
};

} // namespace rotator::os
