// config::loadSettings over a .properties file: anything but core::ConfigError (bad settings)
// or Poco::Exception (Poco's own parser refusing the file) escaping is a finding. The same text
// is also loaded as a file (config::loadSettingsFile, which lists the keys once instead of
// walking them level by level): it must find the same settings or the same first error.

#include "FuzzTarget.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>

#include <unistd.h>

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

namespace
{

/// A private file for the text: made once per process, removed at exit.
class ScratchFile
{
public:
    ScratchFile()
    {
        char directory[] = "/tmp/fuzz-settings.XXXXXX";
        if (::mkdtemp(directory) == nullptr)
        {
            std::abort();
        }
        _directory = directory;
        _path = _directory + "/settings.properties";
    }
    ~ScratchFile()
    {
        ::unlink(_path.c_str());
        ::rmdir(_directory.c_str());
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    const std::string& path() const { return _path; }

private:
    std::string _directory;
    std::string _path;
};

const std::string& scratchFile()
{
    static const ScratchFile file;
    return file.path();
}

/// What a load found, as text: its settings, or its error.
std::string outcome(const std::function<rotator::config::Settings()>& load)
{
    std::ostringstream out;
    try
    {
        const rotator::config::Settings settings = load();
        for (const auto& c : settings.credentials)
        {
            out << "credential " << c.name << " " << c.maxAgeMs << " " << c.sinks.size() << "\n";
        }
        for (const auto& s : settings.sinks)
        {
            out << "sink " << s.name << " " << s.path << "\n";
        }
        for (const auto& w : settings.warnings)
        {
            out << "warning " << w << "\n";
        }
    }
    catch (const rotator::core::ConfigError& e)
    {
        out << "error " << e.key() << ": " << e.what();
    }
    return out.str();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(rotator::fuzz::asText(data, size));
    std::istringstream in{text};
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg;
    try
    {
        cfg = new Poco::Util::PropertyFileConfiguration(in);
    }
    catch (const Poco::Exception&)
    {
        return 0; // Poco's own parser refused the text
    }
    std::string walked;
    try
    {
        walked = outcome(
            [&]
            {
                rotator::config::Settings settings = rotator::config::loadSettings(*cfg);
                for (const auto& credential : settings.credentials)
                {
                    FUZZ_CHECK(!credential.roles.empty() && !credential.sinks.empty());
                    FUZZ_CHECK(credential.maxAgeMs > 0 &&
                               credential.jitterMs < credential.maxAgeMs);
                    for (const auto& sink : credential.sinks)
                    {
                        FUZZ_CHECK(settings.findSink(sink) != nullptr);
                    }
                }
                return settings;
            });
    }
    catch (const Poco::Exception&)
    {
        return 0;
    }

    std::FILE* file = std::fopen(scratchFile().c_str(), "wb");
    FUZZ_CHECK(file != nullptr);
    FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), file) == text.size());
    FUZZ_CHECK(std::fclose(file) == 0);
    const std::string listed =
        outcome([&] { return rotator::config::loadSettingsFile(scratchFile()); });
    // A file of our own also refuses foreign top-level sections, before anything else.
    if (listed.find("unknown section") == std::string::npos)
    {
        if (listed != walked)
        {
            std::fprintf(stderr, "walked:\n%s\nlisted:\n%s\n", walked.c_str(), listed.c_str());
        }
        FUZZ_CHECK(listed == walked);
    }
    return 0;
}
