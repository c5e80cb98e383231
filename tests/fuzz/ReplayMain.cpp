// Replays files through a harness without libFuzzer: the regression test of every harness in
// the regular build (`fuzz_replay.<name>` in ctest). Arguments are files or directories (read
// recursively, in sorted order); a missing directory counts as empty, so that a harness without
// kept crashes needs no placeholder. Fails when nothing at all was replayed.

#include "FuzzTarget.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace
{

std::vector<std::filesystem::path> inputsOf(const std::filesystem::path& path)
{
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_regular_file(path))
    {
        files.push_back(path);
    }
    else if (std::filesystem::is_directory(path))
    {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
        {
            if (entry.is_regular_file())
            {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
    }
    return files;
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i)
    {
        const std::vector<std::filesystem::path> files = inputsOf(argv[i]);
        for (const auto& file : files)
        {
            std::ifstream in(file, std::ios::binary);
            if (!in)
            {
                std::cerr << "cannot read " << file << "\n";
                return 2;
            }
            const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
            // Printed first so that a crash names its input.
            std::cerr << "replaying " << file.string() << " (" << bytes.size() << " bytes)\n";
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
            ++replayed;
        }
        std::cout << argv[i] << ": " << files.size() << " inputs\n";
    }
    if (replayed == 0)
    {
        std::cerr << "no input replayed\n";
        return 1;
    }
    std::cout << replayed << " inputs replayed without a finding\n";
    return 0;
}
