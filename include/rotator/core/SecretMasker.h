#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace rotator::core
{

/// Finds a few known secrets in text that came from outside (what a hook printed), in the
/// disguises a careless script gives them: the value itself, JSON-escaped, base64 (standard
/// and URL-safe, padded or not, at each of the three byte alignments a value embedded in a
/// longer base64 stream can have) and percent-encoded (upper- and lower-case hex), and any
/// piece of at least `kMinPiece` characters of any of those forms (a truncated or split echo).
///
/// `addSecret` masks all of that; `addPublicPrefix` plus `addSecret` on the rest is how a
/// token `AstraCS:<clientId>:<hash>` is added, so the clientId alone (which hooks may print)
/// stays readable while the whole token and any piece of its hash are masked.
///
/// Owns copies of the values and every form, wiped on destruction. Not copyable; const
/// methods are thread-safe.
class SecretMasker
{
public:
    /// Pieces shorter than this are not masked: a shorter run of characters is too likely to
    /// occur by chance (and reveals too little of a 100-character secret).
    static constexpr std::size_t kMinPiece = 16;

    SecretMasker() = default;
    SecretMasker(const SecretMasker&) = delete;
    SecretMasker& operator=(const SecretMasker&) = delete;
    ~SecretMasker();

    /// Masks `value` and every form of it, and their pieces.
    void addSecret(std::string_view value);
    /// Masks `prefix + secret` whole, in every form, but not pieces of `prefix` alone; pieces of
    /// `secret` are masked by `addSecret(secret)`, which this calls.
    void addSecretWithPublicPrefix(std::string_view prefix, std::string_view secret);

    /// The longest form of a secret: how far past a cut a caller must look (see `clean`).
    std::size_t longest() const;

    /// One flag per byte of `text`: true where it belongs to a masked form or piece.
    std::vector<bool> coverage(std::string_view text) const;

    /// The first `keep` bytes of `raw` (not cutting a UTF-8 sequence), with every run of
    /// masked bytes replaced by one `***` and control characters by `?`, then passed through
    /// redactSecrets. Masking by position before the cut is what makes a secret straddling the
    /// cut disappear too: `raw` must extend `longest()` bytes past `keep` when it goes on.
    std::string clean(std::string_view raw, std::size_t keep) const;

private:
    void addWhole(std::string value);
    void addPieces(std::string value);

    std::deque<std::string> _wholes;              ///< masked wherever they occur whole
    std::deque<std::string> _forms;               ///< whose pieces of kMinPiece bytes are masked
    std::unordered_set<std::string_view> _pieces; ///< views into `_forms`
};

/// The encodings SecretMasker looks for, exposed for tests.
std::string base64Encode(std::string_view bytes, bool urlSafe, bool pad);
/// Every byte but RFC 3986's unreserved ones as `%XX`, with upper- or lower-case hex.
std::string percentEncode(std::string_view bytes, bool lowerHex);

} // namespace rotator::core
