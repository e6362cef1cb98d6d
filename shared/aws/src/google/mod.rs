//! Google's side of the email channel: Pub/Sub's signed pushes to the Gmail webhook, and
//! OAuth access tokens for Gmail's API (the mailbox adapter is `crate::mailbox::gmail`).

#[cfg(feature = "gmail")]
pub mod oauth;
#[cfg(feature = "gmail-push")]
pub mod push;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;

const PADDED_OR_NOT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PADDED_OR_NOT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, PADDED_OR_NOT);

/// Base64 as Google writes it: standard in Pub/Sub's data, URL-safe in Gmail's raw
/// messages, padded or not in either.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).or_else(|_| URL_SAFE.decode(text)).ok()
}

/// A uint64 as Google writes it: a JSON number in Pub/Sub notifications, a string in
/// Gmail's API.
pub(crate) fn uint64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// [`uint64`] as a serde field (`#[serde(deserialize_with = "uint64_field")]`).
#[cfg(feature = "gmail")]
pub(crate) fn uint64_field<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    use serde::de::Error as _;
    use serde::Deserialize as _;
    let value = Value::deserialize(deserializer)?;
    uint64(&value).ok_or_else(|| D::Error::custom("expected an unsigned integer, as a number or a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_is_read_in_either_alphabet_padded_or_not() {
        // "??>" encodes to "Pz8+" (standard) and "Pz8-" (URL-safe); "?>" needs padding.
        for text in ["Pz8+", "Pz8-"] {
            assert_eq!(decode_base64(text).as_deref(), Some(&b"??>"[..]), "{text}");
        }
        for text in ["Pz4=", "Pz4"] {
            assert_eq!(decode_base64(text).as_deref(), Some(&b"?>"[..]), "{text}");
        }
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[test]
    fn uint64s_are_numbers_or_strings() {
        assert_eq!(uint64(&json!(1234)), Some(1234));
        assert_eq!(uint64(&json!("18446744073709551615")), Some(u64::MAX));
        for not in [json!(-1), json!(1.5), json!("12a"), json!(null), json!([1])] {
            assert_eq!(uint64(&not), None, "{not}");
        }
    }
}
