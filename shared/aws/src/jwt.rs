//! RS256 JWTs verified against an issuer's published keys (a JWKS), fetched and kept as long
//! as their Cache-Control allows. Google's push tokens (`google::push`) are checked with it,
//! and so are Cognito's tokens where the local stack stands in for API Gateway's JWT
//! authorizer: each caller sets its own claims' rules (a `Validation`) and checks the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;

/// How long the keys are kept when their answer gives no `max-age`.
const DEFAULT_KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches of the keys, so that tokens naming unknown keys
/// (or an unreachable key server) cannot turn every request into a fetch.
const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a token was not accepted. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("no Authorization header")]
    MissingHeader,
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the token is not signed with RS256")]
    WrongAlgorithm,
    #[error("the token's key is not one of the issuer's published keys")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is from another issuer")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    /// The issuer's keys could not be fetched (and none is known for the token): nothing is
    /// wrong with the token, and the caller may try again.
    #[error("the issuer's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

/// Verifies RS256 tokens against one issuer's published keys, fetched once and shared by
/// clones.
#[derive(Clone)]
pub struct JwksVerifier {
    inner: Arc<Verifier>,
}

struct Verifier {
    http: reqwest::Client,
    jwks_url: String,
    /// Held across a fetch, so concurrent requests wait for one fetch instead of each making one.
    keys: tokio::sync::Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    by_id: HashMap<String, DecodingKey>,
    fresh_until: Option<Instant>,
    fetched_at: Option<Instant>,
}

impl JwksVerifier {
    pub fn new(jwks_url: impl Into<String>) -> reqwest::Result<Self> {
        Ok(Self {
            inner: Arc::new(Verifier {
                http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?,
                jwks_url: jwks_url.into(),
                keys: tokio::sync::Mutex::new(Keys::default()),
            }),
        })
    }

    /// The claims of `token`: signed with RS256 under the published key its header names,
    /// and valid by `validation` (its algorithms are ignored: RS256 only).
    pub async fn decode<C: DeserializeOwned>(&self, token: &str, validation: &Validation) -> Result<C, TokenRejected> {
        let header = jsonwebtoken::decode_header(token).map_err(rejection)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenRejected::WrongAlgorithm);
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenRejected::Malformed("its header names no key (kid)".into()))?;
        let key = self.inner.key(&kid).await?;
        let mut validation = validation.clone();
        validation.algorithms = vec![Algorithm::RS256];
        jsonwebtoken::decode::<C>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(rejection)
    }
}

/// What the cache can do for a key id.
enum Lookup {
    Found(DecodingKey),
    /// Not in the cache, or the cache is stale: fetch the keys again.
    Fetch,
    /// Not in the cache, and the keys were fetched too recently to fetch them again.
    Missing,
}

impl Keys {
    /// A fresh key is used; a missing or stale one is fetched again, at most once per
    /// [`MIN_FETCH_INTERVAL`]; meanwhile a stale key still serves.
    fn lookup(&self, kid: &str, now: Instant) -> Lookup {
        let fresh = self.fresh_until.is_some_and(|until| now < until);
        let may_fetch = self
            .fetched_at
            .is_none_or(|at| now.duration_since(at) >= MIN_FETCH_INTERVAL);
        match self.by_id.get(kid) {
            Some(key) if fresh || !may_fetch => Lookup::Found(key.clone()),
            _ if may_fetch => Lookup::Fetch,
            _ => Lookup::Missing,
        }
    }

    /// Why `kid` is not known: the issuer never published it, or the keys could not be had.
    fn missing(&self, fetch_error: Option<String>) -> TokenRejected {
        match (fetch_error, self.by_id.is_empty()) {
            (Some(e), _) => TokenRejected::KeysUnavailable(e),
            (None, true) => TokenRejected::KeysUnavailable("the last fetch failed; not retried yet".into()),
            (None, false) => TokenRejected::UnknownKey,
        }
    }
}

impl Verifier {
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenRejected> {
        let mut keys = self.keys.lock().await;
        let now = Instant::now();
        match keys.lookup(kid, now) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Missing => return Err(keys.missing(None)),
            Lookup::Fetch => {}
        }
        keys.fetched_at = Some(now);
        let fetch_error = match self.fetch().await {
            Ok((by_id, max_age)) => {
                keys.by_id = by_id;
                keys.fresh_until = Some(now + max_age);
                None
            }
            Err(e) => {
                tracing::warn!(url = %self.jwks_url, error = %e, "the issuer's signing keys could not be fetched");
                Some(e)
            }
        };
        // A stale key serves while the keys cannot be fetched.
        match keys.by_id.get(kid) {
            Some(key) => Ok(key.clone()),
            None => Err(keys.missing(fetch_error)),
        }
    }

    /// The published RSA keys by id, and how long they may be kept.
    async fn fetch(&self) -> Result<(HashMap<String, DecodingKey>, Duration), String> {
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_KEYS_MAX_AGE);
        let set: JwkSet = response.json().await.map_err(|e| e.to_string())?;
        let by_id = set
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        Ok((by_id, max_age))
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
pub fn bearer_token(header: &str) -> Result<&str, TokenRejected> {
    match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(TokenRejected::NotBearer),
    }
}

/// The `max-age` of a Cache-Control header.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control
        .split(',')
        .find_map(|directive| directive.trim().strip_prefix("max-age="))
        .and_then(|seconds| seconds.trim().parse().ok())
        .map(Duration::from_secs)
}

/// What a failed decoding says about the token, in words of ours (jsonwebtoken's JSON errors
/// may quote the token's contents).
fn rejection(e: jsonwebtoken::errors::Error) -> TokenRejected {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenRejected::BadSignature,
        ErrorKind::ExpiredSignature => TokenRejected::Expired,
        ErrorKind::ImmatureSignature => TokenRejected::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejected::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejected::WrongAudience,
        ErrorKind::InvalidAlgorithm => TokenRejected::WrongAlgorithm,
        // The claim names are the validation's own ("exp", "iss", "aud").
        ErrorKind::MissingRequiredClaim(claim) => TokenRejected::Malformed(format!("no `{claim}` claim")),
        ErrorKind::InvalidClaimFormat(claim) => TokenRejected::Malformed(format!("its `{claim}` claim is invalid")),
        ErrorKind::InvalidToken => TokenRejected::Malformed("not three dot-separated parts".into()),
        ErrorKind::Base64(_) => TokenRejected::Malformed("a part is not base64url".into()),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            TokenRejected::Malformed("its header or claims are not the expected JSON".into())
        }
        _ => TokenRejected::Malformed("not a verifiable JWT".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_taken_from_the_header_in_any_case() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
        assert_eq!(bearer_token("bearer  abc.def.ghi "), Ok("abc.def.ghi"));
        for not in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "abc.def.ghi"] {
            assert_eq!(bearer_token(not), Err(TokenRejected::NotBearer), "{not}");
        }
    }

    #[test]
    fn keys_are_kept_for_the_max_age_the_issuer_gives() {
        assert_eq!(
            max_age("public, max-age=22114, must-revalidate, no-transform"),
            Some(Duration::from_secs(22114))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn keys_are_fetched_when_stale_or_unknown_but_at_most_once_per_interval() {
        let t0 = Instant::now();
        let key = DecodingKey::from_rsa_components("AQAB", "AQAB").unwrap();
        let lookup = |keys: &Keys, kid: &str, at: Instant| match keys.lookup(kid, at) {
            Lookup::Found(_) => "found",
            Lookup::Fetch => "fetch",
            Lookup::Missing => "missing",
        };
        assert_eq!(lookup(&Keys::default(), "k1", t0), "fetch", "nothing fetched yet");
        let keys = Keys {
            by_id: HashMap::from([("k1".to_owned(), key)]),
            fresh_until: Some(t0 + Duration::from_secs(3600)),
            fetched_at: Some(t0),
        };
        assert_eq!(lookup(&keys, "k1", t0 + Duration::from_secs(1)), "found");
        assert_eq!(
            lookup(&keys, "k2", t0 + Duration::from_secs(1)),
            "missing",
            "fetched just now"
        );
        assert_eq!(
            lookup(&keys, "k2", t0 + MIN_FETCH_INTERVAL),
            "fetch",
            "once the interval passed"
        );
        assert_eq!(lookup(&keys, "k1", t0 + Duration::from_secs(3600)), "fetch", "stale");
        let failed_just_now = Keys {
            fetched_at: Some(t0 + Duration::from_secs(3600)),
            ..keys
        };
        assert_eq!(
            lookup(&failed_just_now, "k1", t0 + Duration::from_secs(3601)),
            "found",
            "a stale key serves while the keys cannot be fetched"
        );
        assert_eq!(failed_just_now.missing(None), TokenRejected::UnknownKey);
        assert!(matches!(
            Keys::default().missing(None),
            TokenRejected::KeysUnavailable(_)
        ));
    }
}
