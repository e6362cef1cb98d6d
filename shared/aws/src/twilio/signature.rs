//! `X-Twilio-Signature`, as Twilio computes it and as its helper libraries validate it:
//! base64 of HMAC-SHA1, keyed by the account's auth token, over the full URL Twilio called
//! followed by every POST parameter sorted by name (byte order), each name followed by its
//! value; a repeated name contributes its distinct values, sorted. A JSON body is signed
//! through a `bodySHA256` query parameter (hex SHA-256 of the body) and no parameters.
//! Validation tries the URL as given, without its port and with the scheme's default port
//! (Twilio's libraries do the same), and with its host in lower case; signatures are
//! compared in constant time.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Signs and validates Twilio requests with one auth token.
#[derive(Clone)]
pub struct RequestValidator {
    auth_token: SecretString,
}

impl RequestValidator {
    pub fn new(auth_token: SecretString) -> Self {
        Self { auth_token }
    }

    /// The signature Twilio sends with a form POST of `params` to `url`.
    pub fn signature(&self, url: &str, params: &[(String, String)]) -> String {
        let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, value) in params {
            by_name.entry(name).or_default().push(value);
        }
        let mut mac = Hmac::<Sha1>::new_from_slice(self.auth_token.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(url.as_bytes());
        for (name, mut values) in by_name {
            values.sort_unstable();
            values.dedup();
            for value in values {
                mac.update(name.as_bytes());
                mac.update(value.as_bytes());
            }
        }
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` is Twilio's for a form POST of `params` to `url`.
    pub fn validate(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        url_variants(url)
            .iter()
            .any(|variant| same(&self.signature(variant, params), signature))
    }

    /// Whether `signature` is Twilio's for a JSON `body` posted to `url`, whose
    /// `bodySHA256` query parameter must be the body's hash.
    pub fn validate_json(&self, url: &str, body: &[u8], signature: &str) -> bool {
        let Some(query) = url.split_once('?').map(|(_, q)| q) else {
            return false;
        };
        let claimed = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "bodySHA256")
            .map(|(_, value)| value.into_owned());
        match claimed {
            Some(hash) => same(&body_sha256(body), &hash) && self.validate(url, &[], signature),
            None => false,
        }
    }
}

/// The `bodySHA256` of a JSON body: lower-case hex SHA-256.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn same(expected: &str, given: &str) -> bool {
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// The forms of a URL Twilio may have signed: as given, without its port, with the scheme's
/// default port; each also with the host in lower case.
fn url_variants(url: &str) -> Vec<String> {
    let Ok(uri) = url.parse::<lambda_http::http::Uri>() else {
        return vec![url.to_owned()];
    };
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return vec![url.to_owned()];
    };
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return vec![url.to_owned()],
    };
    let rest = uri.path_and_query().map_or("", |p| p.as_str());
    // `Authority::host` keeps the case it was written in.
    let host = authority.host();
    let mut variants = vec![url.to_owned()];
    for host in [host.to_owned(), host.to_ascii_lowercase()] {
        variants.push(format!("{scheme}://{host}{rest}"));
        variants.push(format!("{scheme}://{host}:{default_port}{rest}"));
    }
    variants.dedup();
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn validator(token: &str) -> RequestValidator {
        RequestValidator::new(token.to_owned().into())
    }

    /// Twilio's documented example (twilio-python's tests/unit/test_request_validator.py,
    /// MIT licence; the same vector is in Twilio's signature-validation documentation):
    /// auth token 12345, this URL and these call parameters.
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn documented_params() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn twilios_documented_vectors() {
        let v = validator("12345");
        assert_eq!(v.signature(URL, &documented_params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(v.validate(URL, &documented_params(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        // Twilio's api-snippets (MIT): the same request from +14158675310.
        let snippet = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]);
        assert!(v.validate(URL, &snippet, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
        // Byte order: `CallSid` sorts before `Caller` ('S' < 'e').
        assert!(!v.validate(URL, &documented_params(), "GvWf1cFY/Q7PnoempGyD5oXAezc="));
    }

    #[test]
    fn the_url_is_accepted_with_and_without_its_port() {
        let v = validator("12345");
        let p = documented_params();
        // twilio-python: a signature over the URL without port validates a URL with one ...
        assert!(v.validate(
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &p,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(v.validate(
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &p,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        ));
        // ... and one signed with the default port validates the URL without.
        assert!(v.validate(URL, &p, "kvajT1Ptam85bY51eRf/AJRuM3w="));
        assert!(v.validate(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &p,
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
        // Another host, path or query is another URL.
        for other in [
            "https://othercompany.com/myapp.php?foo=1&bar=2",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            "https://mycompany.com/other.php?foo=1&bar=2",
        ] {
            assert!(!v.validate(other, &p, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "{other}");
        }
    }

    #[test]
    fn repeated_names_sign_their_distinct_values_in_order() {
        // twilio-python's multi-dict vector.
        let v = validator("12345");
        let repeated = params(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(v.signature(URL, &repeated), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
        let mut again = repeated.clone();
        again.push(("Digits".into(), "1234".into()));
        assert_eq!(
            v.signature(URL, &again),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
            "a value repeated counts once"
        );
    }

    #[test]
    fn json_bodies_are_signed_through_their_hash() {
        // twilio-python's body vector.
        let v = validator("12345");
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(body_sha256(body), hash);
        let url = format!("{URL}&bodySHA256={hash}");
        assert!(v.validate_json(&url, body, "a9nBmqA0ju/hNViExpshrM61xv4="));
        assert!(
            !v.validate_json(&url, br#"{"property": "other"}"#, "a9nBmqA0ju/hNViExpshrM61xv4="),
            "another body"
        );
        assert!(
            !v.validate_json(URL, body, "a9nBmqA0ju/hNViExpshrM61xv4="),
            "no hash in the URL"
        );
    }

    #[test]
    fn a_mixed_case_host_validates_as_written_and_in_lower_case() {
        // Our own vectors, computed independently with Python's hmac and hashlib:
        // base64(hmac.new(b"12345", url.encode(), hashlib.sha1).digest()), no parameters.
        let v = validator("12345");
        let written = "https://Support.Tandem.Example/webhooks/whatsapp";
        assert!(v.validate(written, &[], "4XIi2dO9rXlY3neqTK1QWFWBmmE="));
        assert!(v.validate(written, &[], "ozTThFOb13F/vRlfJxa1QbsgyCw="));
        assert!(!v.validate(
            "https://support.other.example/webhooks/whatsapp",
            &[],
            "ozTThFOb13F/vRlfJxa1QbsgyCw="
        ));
    }

    #[test]
    fn a_wrong_token_or_a_changed_parameter_fails() {
        let v = validator("12345");
        let signature = v.signature(URL, &documented_params());
        assert!(!validator("54321").validate(URL, &documented_params(), &signature));
        let mut changed = documented_params();
        changed[1].1 = "9999".into();
        assert!(!v.validate(URL, &changed, &signature));
        assert!(!v.validate(URL, &documented_params(), ""));
    }
}
