// config::parseWindow: throws core::ConfigError (and nothing else) on bad input; an accepted
// window has at least one day, a start in [00:00, 24:00), an end in (00:00, 24:00] and is not
// empty.

#include "FuzzTarget.h"

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string text(rotator::fuzz::asText(data, size));
    try
    {
        const rotator::config::Window w = rotator::config::parseWindow(text, "window");
        FUZZ_CHECK(w.days != 0 && w.days <= 0x7f);
        FUZZ_CHECK(w.startMinute >= 0 && w.startMinute < 24 * 60);
        FUZZ_CHECK(w.endMinute > 0 && w.endMinute <= 24 * 60);
        FUZZ_CHECK(w.startMinute != w.endMinute);
        // The normalised text is accepted again, as the same window.
        const rotator::config::Window again = rotator::config::parseWindow(w.text, "window");
        FUZZ_CHECK(again.days == w.days && again.startMinute == w.startMinute &&
                   again.endMinute == w.endMinute);
    }
    catch (const rotator::core::ConfigError& e)
    {
        FUZZ_CHECK(e.key() == "window");
    }
    return 0;
}
