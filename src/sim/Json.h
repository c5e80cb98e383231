#pragma once

// Strict readers over Poco JSON (whose getValue<T> converts loosely), private to src/sim.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

namespace rotator::sim::json
{

/// A document or field that does not have the expected shape. The message names the field
/// and never quotes values.
class Invalid : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Parses `text`, which must be a JSON object.
Poco::JSON::Object::Ptr parseObject(const std::string& text);

/// nullopt when absent or null; throws Invalid when present with another type.
std::optional<std::string> optString(const Poco::JSON::Object& object, const std::string& key);
std::optional<std::int64_t> optInteger(const Poco::JSON::Object& object, const std::string& key);
std::optional<bool> optBool(const Poco::JSON::Object& object, const std::string& key);
std::optional<std::vector<std::string>> optStringArray(const Poco::JSON::Object& object,
                                                       const std::string& key);

/// Throw Invalid when absent, null or of another type.
std::string requireString(const Poco::JSON::Object& object, const std::string& key);
std::vector<std::string> requireStringArray(const Poco::JSON::Object& object,
                                            const std::string& key);

/// An object that keeps its keys in insertion order, as the API prints them.
Poco::JSON::Object::Ptr newObject();
Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& values);
/// Compact JSON text.
std::string stringify(const Poco::JSON::Object::Ptr& object);
std::string stringify(const Poco::JSON::Array::Ptr& array);

} // namespace rotator::sim::json
