#pragma once

#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"

namespace rotator::rotation
{

/// The org's roles list, asked for once a pass and shared by the pass's rotations.
///
/// A pass may ask for the list ahead, on another thread, while it lists the clients (`Pass`);
/// the first rotation that needs the roles then takes that answer. A failed answer is kept for
/// the pass too: its rotations fail alike, without asking again. Thread-safe.
class RoleCache
{
public:
    explicit RoleCache(api::TokenApi& api) : _api(api) {}

    /// The cache's life for one pass: forgets the last pass's answer (roles can change between
    /// passes), asks ahead when `askAhead`, and on destruction waits for the request asked
    /// ahead if nobody took its answer, whatever happened in the pass.
    class Pass
    {
    public:
        Pass(RoleCache& cache, bool askAhead);
        ~Pass();
        Pass(const Pass&) = delete;
        Pass& operator=(const Pass&) = delete;

    private:
        RoleCache& _cache;
    };

    /// Forgets the answer (a command outside a pass asks afresh).
    void forget();
    /// The org's roles, listed once a pass (or taken from the request asked ahead).
    std::optional<std::vector<core::Role>> orgRoles(std::string& error);
    /// The IDs of a credential's configured roles.
    std::optional<std::vector<std::string>> resolve(const config::CredentialSettings& c,
                                                    std::string& error);

private:
    api::TokenApi& _api;
    std::mutex _mutex;
    std::optional<core::Outcome<std::vector<core::Role>>> _roles; ///< this pass's answer
    /// The roles list asked for while the pass lists the clients.
    std::future<core::Outcome<std::vector<core::Role>>> _ahead;
};

} // namespace rotator::rotation
