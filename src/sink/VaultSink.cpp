#include "rotator/sink/VaultSink.h"

#include "VaultJson.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Logger.h>

#include "rotator/core/JsonString.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/sink/Credential.h"

namespace rotator::sink
{

using core::FailureKind;

namespace
{

/// CAS mismatches retried inside one delivery: another writer racing for longer than that is
/// a person's business, and the next attempt comes anyway.
constexpr int kCasAttempts = 5;
constexpr const char* kCasMismatch = "check-and-set parameter did not match the current version";

std::string jsonText(const Poco::Dynamic::Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::condense(value, out);
    return out.str();
}

const std::vector<std::string>& fieldsOf(const config::SinkSettings& settings)
{
    return settings.fields.empty() ? defaultStoreFields() : settings.fields;
}

/// Whether `data` holds every field of `credential` the sink writes, with the same value.
bool holds(const VaultSecretData& data, const Credential& credential,
           const std::vector<std::string>& fields)
{
    bool same = true;
    for (const auto& field : fields)
    {
        std::string expected = credentialField(credential, field);
        const auto it = data.strings.find(field);
        same = same && it != data.strings.end() && core::constantTimeEquals(it->second, expected);
        core::secureWipe(expected);
    }
    return same;
}

/// Vault's own messages do not quote what was written; if one ever did, it is withheld.
std::string withoutCredential(std::string text, const Credential* credential)
{
    if (credential != nullptr && ((!credential->secret.empty() &&
                                   text.find(credential->secret.reveal()) != std::string::npos) ||
                                  (!credential->token.empty() &&
                                   text.find(credential->token.reveal()) != std::string::npos)))
    {
        return "(Vault's message withheld: it quoted the credential)";
    }
    return text;
}

} // namespace

std::optional<VaultSecretData> parseVaultData(std::string_view body)
{
    const auto root = detail::parseVaultObject(body);
    if (!root || !root->isObject("data"))
    {
        return std::nullopt;
    }
    const auto data = root->getObject("data");
    VaultSecretData out;
    if (data->isObject("metadata"))
    {
        const auto version = data->getObject("metadata")->get("version");
        if (version.isInteger())
        {
            out.version = version.convert<std::int64_t>();
        }
    }
    if (data->isNull("data"))
    {
        return out;
    }
    if (!data->isObject("data"))
    {
        return std::nullopt;
    }
    const auto values = data->getObject("data");
    for (const auto& [key, value] : *values)
    {
        if (value.isString())
        {
            out.strings[key] = value.extract<std::string>();
        }
        else
        {
            out.others[key] = jsonText(value);
        }
    }
    return out;
}

std::optional<VaultMetadata> parseVaultMetadata(std::string_view body)
{
    const auto root = detail::parseVaultObject(body);
    if (!root || !root->isObject("data"))
    {
        return std::nullopt;
    }
    const auto data = root->getObject("data");
    const auto version = data->get("current_version");
    if (!version.isInteger())
    {
        return std::nullopt;
    }
    VaultMetadata out;
    out.currentVersion = version.convert<std::int64_t>();
    if (data->isObject("custom_metadata"))
    {
        for (const auto& [key, value] : *data->getObject("custom_metadata"))
        {
            if (value.isString())
            {
                out.custom[key] = value.extract<std::string>();
            }
        }
    }
    return out;
}

std::string vaultWriteBody(const std::string& fieldsJson, const VaultSecretData& kept,
                           std::int64_t cas)
{
    const auto owned = detail::parseVaultObject(fieldsJson);
    std::set<std::string> ours;
    if (owned)
    {
        for (const auto& [key, value] : *owned)
        {
            ours.insert(key);
        }
    }
    std::string body = "{\"options\":{\"cas\":" + std::to_string(cas) + "},\"data\":{";
    bool first = true;
    const auto separate = [&]
    {
        body += first ? "" : ",";
        first = false;
    };
    for (const auto& [key, value] : kept.strings)
    {
        if (ours.count(key) == 0)
        {
            separate();
            core::appendJsonString(body, key);
            body += ":";
            core::appendJsonString(body, value);
        }
    }
    for (const auto& [key, json] : kept.others)
    {
        if (ours.count(key) == 0)
        {
            separate();
            core::appendJsonString(body, key);
            body += ":" + json;
        }
    }
    // The rendered object without its braces: the sink's fields, in the configured order.
    if (fieldsJson.size() > 2)
    {
        separate();
        body.append(fieldsJson, 1, fieldsJson.size() - 2);
    }
    body += "}}";
    return body;
}

std::string vaultMetadataBody(const std::map<std::string, std::string>& existing,
                              const std::string& clientId, const std::string& credentialName)
{
    std::map<std::string, std::string> custom = existing;
    custom[kVaultClientIdKey] = clientId;
    custom[kVaultCredentialKey] = credentialName;
    std::string body = "{\"custom_metadata\":{";
    bool first = true;
    for (const auto& [key, value] : custom)
    {
        body += first ? "" : ",";
        first = false;
        core::appendJsonString(body, key);
        body += ":";
        core::appendJsonString(body, value);
    }
    return body + "}}";
}

std::optional<std::vector<std::string>> missingCapabilities(std::string_view body,
                                                            const std::string& path,
                                                            const std::vector<std::string>& needed)
{
    auto root = detail::parseVaultObject(body);
    if (root && !root->isArray(path) && root->isObject("data"))
    {
        root = root->getObject("data"); // newer answers repeat the lists under `data`
    }
    if (!root || !root->isArray(path))
    {
        return std::nullopt;
    }
    std::set<std::string> granted;
    for (const auto& item : *root->getArray(path))
    {
        if (item.isString())
        {
            granted.insert(item.extract<std::string>());
        }
    }
    std::vector<std::string> missing;
    if (granted.count("root") != 0)
    {
        return missing;
    }
    for (const auto& capability : needed)
    {
        if (granted.count("deny") != 0 || granted.count(capability) == 0)
        {
            missing.push_back(capability);
        }
    }
    return missing;
}

VaultSink::VaultSink(config::SinkSettings settings, core::Clock& clock)
    : _settings(std::move(settings)), _prefix("vault sink " + _settings.name + ": "),
      _dataPath(_settings.vault.mount + "/data/" + _settings.vault.path),
      _metadataPath(_settings.vault.mount + "/metadata/" + _settings.vault.path)
{
    api::ChannelOptions options;
    options.url = _settings.vault.address;
    options.caFile = _settings.caFile;
    options.caKey = "sinks." + _settings.name + ".caFile";
    options.deadlineKey = "the vault sink's request deadline";
    // A KV v2 secret holds at most a few MiB; Vault's answers here are small.
    options.maxBodyBytes = 4 * 1024 * 1024;
    _channel = std::make_unique<api::HttpChannel>(options, clock);
    _auth = std::make_unique<VaultAuth>(_settings, *_channel, clock);
}

VaultSink::~VaultSink() = default;

std::string VaultSink::describe() const
{
    const auto& v = _settings.vault;
    const char* auth = v.auth == config::VaultAuth::Token        ? "token"
                       : v.auth == config::VaultAuth::Kubernetes ? "kubernetes"
                                                                 : "approle";
    return "vault " + v.address + " " + _dataPath +
           (v.vaultNamespace.empty() ? "" : " (namespace " + v.vaultNamespace + ")") + " (auth " +
           auth + ")";
}

core::Outcome<api::HttpResult> VaultSink::call(const std::string& method, const std::string& target,
                                               std::string_view body) const
{
    for (int attempt = 0;; ++attempt)
    {
        auto token = _auth->token();
        if (!token)
        {
            return tl::unexpected(token.error());
        }
        api::HttpRequestSpec request;
        request.method = method;
        request.target = target;
        request.headers = vaultHeaders(*token, _settings.vault.vaultNamespace);
        request.body = body;
        auto answer = _channel->send(request);
        if (!answer)
        {
            core::Failure f = answer.error();
            f.message = _prefix + f.message;
            return tl::unexpected(std::move(f));
        }
        if (answer->status != 403 || attempt > 0)
        {
            return answer;
        }
        // Vault checks the token before it acts: a 403 never wrote anything, so sending again
        // with a replaced token is safe.
        auto denied = _auth->afterDenied(*token);
        if (!denied)
        {
            return tl::unexpected(denied.error());
        }
        if (*denied == VaultAuth::Denied::MissingCapability)
        {
            return answer;
        }
    }
}

core::Failure VaultSink::answerFailure(const std::string& method, const std::string& target,
                                       const api::HttpResult& result, const std::string& capability,
                                       const Credential* credential) const
{
    const std::string errors = withoutCredential(vaultErrorText(result.body), credential);
    core::Failure f;
    f.httpStatus = result.status;
    f.retryAfterMs = result.retryAfterMs;
    const std::string said =
        " (" + std::to_string(result.status) + (errors.empty() ? "" : ": " + errors) + ")";
    if (result.status == 403)
    {
        f.kind = FailureKind::Permanent;
        f.message = _prefix + "Vault denied " + method + " " + target + said +
                    ": the token's policies lack \"" + capability +
                    "\" (README: the vault sink's policy)";
        return f;
    }
    // 412: a performance standby has not caught up; 429: a rate limit quota; 5xx: sealed,
    // standby, or an internal error.
    f.kind = result.status == 412 || result.status == 429 || result.status >= 500
                 ? FailureKind::Transient
                 : FailureKind::Permanent;
    f.message = _prefix + "Vault answered " + method + " " + target + said;
    return f;
}

core::Outcome<std::optional<VaultMetadata>> VaultSink::readMetadata() const
{
    const std::string target = "/v1/" + _metadataPath;
    auto answer = call("GET", target, {});
    if (!answer)
    {
        return tl::unexpected(answer.error());
    }
    if (answer->status == 404)
    {
        return std::optional<VaultMetadata>();
    }
    if (answer->status != 200)
    {
        return tl::unexpected(
            answerFailure("GET", target, *answer, "read on " + _metadataPath, nullptr));
    }
    auto metadata = parseVaultMetadata(answer->body);
    if (!metadata)
    {
        return core::fail(FailureKind::Transient,
                          _prefix + "the answer to GET " + target + " is not KV v2 metadata (is " +
                              _settings.vault.mount + " a KV version 2 mount?)");
    }
    return std::optional<VaultMetadata>(std::move(*metadata));
}

core::Outcome<std::optional<VaultSecretData>>
VaultSink::readData(const Credential* credential) const
{
    const std::string target = "/v1/" + _dataPath;
    auto answer = call("GET", target, {});
    if (!answer)
    {
        return tl::unexpected(answer.error());
    }
    if (answer->status == 404)
    {
        core::secureWipe(answer->body);
        return std::optional<VaultSecretData>();
    }
    if (answer->status != 200)
    {
        auto f = answerFailure("GET", target, *answer, "read on " + _dataPath, credential);
        core::secureWipe(answer->body);
        return tl::unexpected(std::move(f));
    }
    auto data = parseVaultData(answer->body);
    core::secureWipe(answer->body);
    if (!data)
    {
        return core::fail(FailureKind::Transient,
                          _prefix + "the answer to GET " + target + " is not KV v2 data (is " +
                              _settings.vault.mount + " a KV version 2 mount?)");
    }
    return std::optional<VaultSecretData>(std::move(*data));
}

core::Outcome<void> VaultSink::deliver(const Credential& credential)
{
    const auto& fields = fieldsOf(_settings);
    const std::string dataTarget = "/v1/" + _dataPath;
    const std::string metadataTarget = "/v1/" + _metadataPath;
    // Once the data write may have reached Vault, the secret may hold the credential.
    bool mayHold = false;
    const auto failed = [&](core::Failure f)
    {
        f.ambiguous = mayHold;
        if (mayHold)
        {
            f.message += "; the secret may hold the new credential";
        }
        return tl::unexpected(std::move(f));
    };

    std::map<std::string, std::string> custom;
    bool written = false;
    for (int attempt = 1; !written; ++attempt)
    {
        auto metadata = readMetadata();
        if (!metadata)
        {
            return failed(metadata.error());
        }
        const std::int64_t version = *metadata ? (*metadata)->currentVersion : 0;
        custom = *metadata ? (*metadata)->custom : std::map<std::string, std::string>();
        VaultSecretData current;
        if (version > 0)
        {
            auto data = readData(&credential);
            if (!data)
            {
                return failed(data.error());
            }
            current = data->value_or(VaultSecretData());
        }
        if (version > 0 && holds(current, credential, fields))
        {
            mayHold = true; // held already, from an earlier delivery
            const auto named = custom.find(kVaultClientIdKey);
            if (named != custom.end() && named->second == credential.clientId)
            {
                Poco::Logger::get("sink").information(
                    _prefix + _dataPath + " holds client " + credential.clientId +
                    " already (version " + std::to_string(version) + "): nothing written");
                return {};
            }
            break; // the metadata is what is missing
        }
        std::string fieldsJson = renderFieldsJson(credential, fields);
        std::string body = vaultWriteBody(fieldsJson, current, version);
        core::secureWipe(fieldsJson);
        auto answer = call("POST", dataTarget, body);
        core::secureWipe(body);
        if (!answer)
        {
            mayHold = answer.error().ambiguous;
            return failed(answer.error());
        }
        if (answer->status == 200 || answer->status == 204)
        {
            mayHold = true;
            written = true;
            Poco::Logger::get("sink").information(
                _prefix + "wrote client " + credential.clientId + " to " + _dataPath +
                " (check-and-set on version " + std::to_string(version) + ")");
            break;
        }
        // Vault refused the write as a whole: nothing of it was stored.
        if (answer->status == 400 &&
            vaultErrorText(answer->body).find(kCasMismatch) != std::string::npos)
        {
            if (attempt >= kCasAttempts)
            {
                return failed(core::fail(FailureKind::Transient,
                                         _prefix + _dataPath + " changed " +
                                             std::to_string(kCasAttempts) +
                                             " times while it was written (check-and-set "
                                             "refused each time); another writer is at work")
                                  .value());
            }
            Poco::Logger::get("sink").information(
                _prefix + _dataPath + " changed while it was written (check-and-set on version " +
                std::to_string(version) + " refused): reading it again");
            continue;
        }
        // A 5xx may come after the write was stored (the answer failed, not the write).
        mayHold = answer->status >= 500;
        return failed(answerFailure("POST", dataTarget, *answer,
                                    (version == 0 ? "create on " : "update on ") + _dataPath,
                                    &credential));
    }

    const std::string metadataBody =
        vaultMetadataBody(custom, credential.clientId, credential.credential);
    auto answer = call("POST", metadataTarget, metadataBody);
    if (!answer)
    {
        return failed(answer.error());
    }
    if (answer->status != 200 && answer->status != 204)
    {
        return failed(answerFailure("POST", metadataTarget, *answer, "update on " + _metadataPath,
                                    &credential));
    }

    auto readBack = readData(&credential);
    if (!readBack)
    {
        return failed(readBack.error());
    }
    if (!*readBack || !holds(**readBack, credential, fields))
    {
        return failed(core::fail(FailureKind::Transient, _prefix + "the read-back of " + _dataPath +
                                                             " does not hold client " +
                                                             credential.clientId +
                                                             " (another writer changed it since)")
                          .value());
    }
    Poco::Logger::get("sink").information(_prefix + _dataPath + " holds client " +
                                          credential.clientId + " (version " +
                                          std::to_string((*readBack)->version) + ", read back)");
    return {};
}

core::Outcome<void> VaultSink::check() const
{
    const std::string target = "/v1/sys/capabilities-self";
    std::string body = "{\"paths\":[";
    core::appendJsonString(body, _dataPath);
    body += ",";
    core::appendJsonString(body, _metadataPath);
    body += "]}";
    auto answer = call("POST", target, body);
    if (!answer)
    {
        return tl::unexpected(answer.error());
    }
    if (answer->status != 200)
    {
        return tl::unexpected(
            answerFailure("POST", target, *answer, "update on sys/capabilities-self", nullptr));
    }
    std::vector<std::string> lacking;
    for (const auto& [path, needed] :
         {std::pair<std::string, std::vector<std::string>>{_dataPath, {"create", "read", "update"}},
          {_metadataPath, {"read", "update"}}})
    {
        const auto missing = missingCapabilities(answer->body, path, needed);
        if (!missing)
        {
            return core::fail(FailureKind::Transient,
                              _prefix + "the answer to POST " + target + " lists no " + path);
        }
        for (const auto& capability : *missing)
        {
            lacking.push_back(capability + " on " + path);
        }
    }
    if (!lacking.empty())
    {
        std::string list;
        for (const auto& item : lacking)
        {
            list += (list.empty() ? "" : ", ") + item;
        }
        return core::fail(FailureKind::Permanent, _prefix + "the token's policies lack " + list +
                                                      " (README: the vault sink's policy)");
    }
    auto data = readData(nullptr);
    if (!data)
    {
        return tl::unexpected(data.error());
    }
    return {};
}

} // namespace rotator::sink
