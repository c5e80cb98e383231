#pragma once

// The data the admin API's tests seed (clients, credentials), without a server or a socket, so
// that unit tests of the admin parts can use it too.

#include <cstdint>
#include <string>
#include <vector>

#include "rotator/config/Settings.h"
#include "rotator/core/Model.h"
#include "rotator/core/Time.h"

namespace rotator::test
{

inline constexpr std::int64_t kDay = 86'400'000;
inline constexpr std::int64_t kHour = 3'600'000;

inline core::ClientInfo client(char letter, std::int64_t generatedOnMs)
{
    core::ClientInfo info;
    info.clientId = std::string(24, letter);
    info.roles = {"role-a"};
    info.generatedOnMs = generatedOnMs;
    info.generatedOn = core::formatRfc3339Ms(generatedOnMs);
    return info;
}

/// Two credentials: billing (max age 30 days) and payroll (7 days).
inline std::vector<config::CredentialSettings> billingAndPayroll()
{
    config::CredentialSettings billing;
    billing.name = "billing";
    billing.maxAgeMs = 30 * kDay;
    config::CredentialSettings payroll;
    payroll.name = "payroll";
    payroll.maxAgeMs = 7 * kDay;
    return {billing, payroll};
}

} // namespace rotator::test
