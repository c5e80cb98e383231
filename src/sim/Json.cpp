#include "Json.h"

#include <sstream>

#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Parser.h>

namespace rotator::sim::json
{

namespace
{

bool absent(const Poco::JSON::Object& object, const std::string& key)
{
    return !object.has(key) || object.isNull(key);
}

} // namespace

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    Poco::Dynamic::Var value;
    try
    {
        Poco::JSON::Parser parser;
        value = parser.parse(text);
    }
    catch (const Poco::Exception&)
    {
        throw Invalid("the body is not valid JSON");
    }
    if (value.type() != typeid(Poco::JSON::Object::Ptr))
    {
        throw Invalid("the body is not a JSON object");
    }
    return value.extract<Poco::JSON::Object::Ptr>();
}

std::optional<std::string> optString(const Poco::JSON::Object& object, const std::string& key)
{
    if (absent(object, key))
    {
        return std::nullopt;
    }
    const Poco::Dynamic::Var value = object.get(key);
    if (!value.isString())
    {
        throw Invalid("'" + key + "' must be a string");
    }
    return value.extract<std::string>();
}

std::optional<std::int64_t> optInteger(const Poco::JSON::Object& object, const std::string& key)
{
    if (absent(object, key))
    {
        return std::nullopt;
    }
    const Poco::Dynamic::Var value = object.get(key);
    if (!value.isInteger())
    {
        throw Invalid("'" + key + "' must be an integer");
    }
    try
    {
        return value.convert<std::int64_t>();
    }
    catch (const Poco::Exception&)
    {
        throw Invalid("'" + key + "' is out of range");
    }
}

std::optional<bool> optBool(const Poco::JSON::Object& object, const std::string& key)
{
    if (absent(object, key))
    {
        return std::nullopt;
    }
    const Poco::Dynamic::Var value = object.get(key);
    if (!value.isBoolean())
    {
        throw Invalid("'" + key + "' must be true or false");
    }
    return value.extract<bool>();
}

std::optional<std::vector<std::string>> optStringArray(const Poco::JSON::Object& object,
                                                       const std::string& key)
{
    if (absent(object, key))
    {
        return std::nullopt;
    }
    const Poco::JSON::Array::Ptr array = object.getArray(key);
    if (array.isNull())
    {
        throw Invalid("'" + key + "' must be an array of strings");
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < array->size(); ++i)
    {
        const Poco::Dynamic::Var item = array->get(static_cast<unsigned>(i));
        if (!item.isString())
        {
            throw Invalid("'" + key + "' must be an array of strings");
        }
        out.push_back(item.extract<std::string>());
    }
    return out;
}

std::string requireString(const Poco::JSON::Object& object, const std::string& key)
{
    auto value = optString(object, key);
    if (!value)
    {
        throw Invalid("'" + key + "' is required");
    }
    return *value;
}

std::vector<std::string> requireStringArray(const Poco::JSON::Object& object,
                                            const std::string& key)
{
    auto value = optStringArray(object, key);
    if (!value)
    {
        throw Invalid("'" + key + "' is required");
    }
    return *value;
}

Poco::JSON::Object::Ptr newObject()
{
    return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& values)
{
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array();
    for (const auto& value : values)
    {
        array->add(value);
    }
    return array;
}

std::string stringify(const Poco::JSON::Object::Ptr& object)
{
    std::ostringstream out;
    object->stringify(out);
    return out.str();
}

std::string stringify(const Poco::JSON::Array::Ptr& array)
{
    std::ostringstream out;
    array->stringify(out);
    return out.str();
}

} // namespace rotator::sim::json
