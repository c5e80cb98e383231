#include "support/TempDir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace rotator::test
{

TempDir::TempDir()
{
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/rotator-test-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
    {
        throw std::runtime_error("mkdtemp failed");
    }
    _path = templ;
}

TempDir::~TempDir()
{
    std::error_code ec;
    // Make everything writable first: tests create read-only directories on purpose.
    for (auto it = std::filesystem::recursive_directory_iterator(_path, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    {
        if (it->is_directory(ec) && !it->is_symlink(ec))
        {
            ::chmod(it->path().c_str(), 0700);
        }
    }
    std::filesystem::remove_all(_path, ec);
}

std::string TempDir::file(const std::string& name) const
{
    return _path + "/" + name;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void writeFile(const std::string& path, const std::string& content, unsigned mode)
{
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out)
        {
            throw std::runtime_error("cannot write " + path);
        }
        out << content;
    }
    ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

} // namespace rotator::test
