//! Pub/Sub's pushes to the Gmail webhook. Each carries an OIDC token that Google signs for
//! the subscription's service account (`Authorization: Bearer <JWT>`): RS256 under one of
//! Google's published keys (a JWKS, fetched and kept as long as its Cache-Control allows),
//! issued by Google for the audience the subscription names. The body holds the mailbox's
//! notification, base64 JSON: the mailbox's address and the history id it reached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use support_core::ports::mailbox::HistoryId;

use super::{decode_base64, uint64};

/// The `iss` of Google's tokens: Google documents both forms.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
/// Google's published signing keys.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// How long the keys are kept when their answer gives no `max-age`.
const DEFAULT_KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches of the keys, so that tokens naming unknown keys
/// (or an unreachable key server) cannot turn every push into a fetch.
const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew allowed on `exp`.
const LEEWAY_SECONDS: u64 = 30;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Whose pushes the webhook accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAuthConfig {
    /// Google's published keys: [`GOOGLE_JWKS_URL`] in production.
    pub jwks_url: String,
    /// The audience the push subscription puts in its tokens (by default the endpoint's URL).
    pub audience: String,
    /// The service account the push subscription signs as.
    pub service_account: String,
}

/// Why a push was not accepted. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushRejected {
    #[error("no Authorization header")]
    MissingHeader,
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the token is not signed with RS256")]
    WrongAlgorithm,
    #[error("the token's key is not one of Google's published keys")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was not issued by Google")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error(
        "the token is Google's for {}, not the push service account",
        email.as_deref().unwrap_or("no email")
    )]
    WrongServiceAccount { email: Option<String> },
    #[error("the token's email is not verified")]
    EmailNotVerified,
    /// Google's keys could not be fetched (and none is known for the token): nothing is
    /// wrong with the push, and Pub/Sub retries it.
    #[error("Google's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

impl PushRejected {
    /// The webhook's answer: 401 for a token that is not a valid Google token for this
    /// endpoint, 403 for Google's token of someone else, 503 when the keys are out of reach.
    pub fn status(&self) -> u16 {
        match self {
            Self::WrongServiceAccount { .. } | Self::EmailNotVerified => 403,
            Self::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }
}

/// Verifies pushes against Google's keys, fetched once and shared by clones.
#[derive(Clone)]
pub struct PushVerifier {
    inner: Arc<Verifier>,
}

struct Verifier {
    http: reqwest::Client,
    jwks_url: String,
    service_account: String,
    validation: Validation,
    /// Held across a fetch, so concurrent pushes wait for one fetch instead of each making one.
    keys: tokio::sync::Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    by_id: HashMap<String, DecodingKey>,
    fresh_until: Option<Instant>,
    fetched_at: Option<Instant>,
}

#[derive(Deserialize)]
struct PushClaims {
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

impl PushVerifier {
    pub fn new(config: PushAuthConfig) -> reqwest::Result<Self> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_audience(&[config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            inner: Arc::new(Verifier {
                http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?,
                jwks_url: config.jwks_url,
                service_account: config.service_account,
                validation,
                keys: tokio::sync::Mutex::new(Keys::default()),
            }),
        })
    }

    /// Whether the request's `Authorization` header is Pub/Sub's, for this endpoint.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<(), PushRejected> {
        let token = bearer_token(authorization.ok_or(PushRejected::MissingHeader)?)?;
        let header = jsonwebtoken::decode_header(token).map_err(rejection)?;
        if header.alg != Algorithm::RS256 {
            return Err(PushRejected::WrongAlgorithm);
        }
        let kid = header
            .kid
            .ok_or_else(|| PushRejected::Malformed("its header names no key (kid)".into()))?;
        let key = self.inner.key(&kid).await?;
        let claims = jsonwebtoken::decode::<PushClaims>(token, &key, &self.inner.validation)
            .map_err(rejection)?
            .claims;
        match claims.email {
            Some(email) if email.eq_ignore_ascii_case(&self.inner.service_account) => {}
            email => return Err(PushRejected::WrongServiceAccount { email }),
        }
        match claims.email_verified {
            true => Ok(()),
            false => Err(PushRejected::EmailNotVerified),
        }
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

    /// Why `kid` is not known: Google never published it, or the keys could not be had.
    fn missing(&self, fetch_error: Option<String>) -> PushRejected {
        match (fetch_error, self.by_id.is_empty()) {
            (Some(e), _) => PushRejected::KeysUnavailable(e),
            (None, true) => PushRejected::KeysUnavailable("the last fetch failed; not retried yet".into()),
            (None, false) => PushRejected::UnknownKey,
        }
    }
}

impl Verifier {
    async fn key(&self, kid: &str) -> Result<DecodingKey, PushRejected> {
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
                tracing::warn!(url = %self.jwks_url, error = %e, "Google's signing keys could not be fetched");
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
fn bearer_token(header: &str) -> Result<&str, PushRejected> {
    match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(PushRejected::NotBearer),
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
fn rejection(e: jsonwebtoken::errors::Error) -> PushRejected {
    match e.kind() {
        ErrorKind::InvalidSignature => PushRejected::BadSignature,
        ErrorKind::ExpiredSignature => PushRejected::Expired,
        ErrorKind::InvalidIssuer => PushRejected::WrongIssuer,
        ErrorKind::InvalidAudience => PushRejected::WrongAudience,
        ErrorKind::InvalidAlgorithm => PushRejected::WrongAlgorithm,
        // The claim names are the validation's own ("exp", "iss", "aud").
        ErrorKind::MissingRequiredClaim(claim) => PushRejected::Malformed(format!("no `{claim}` claim")),
        ErrorKind::InvalidClaimFormat(claim) => PushRejected::Malformed(format!("its `{claim}` claim is invalid")),
        ErrorKind::InvalidToken => PushRejected::Malformed("not three dot-separated parts".into()),
        ErrorKind::Base64(_) => PushRejected::Malformed("a part is not base64url".into()),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            PushRejected::Malformed("its header or claims are not the expected JSON".into())
        }
        _ => PushRejected::Malformed("not a verifiable JWT".into()),
    }
}

/// What a push tells: the mailbox changed up to this history id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushNotice {
    pub email_address: String,
    pub history_id: HistoryId,
    /// Pub/Sub's id of the message: a redelivered push has the same.
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushBodyError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the push has no message object")]
    MissingMessage,
    #[error("the push message has no data")]
    MissingData,
    #[error("the push message has no messageId")]
    MissingMessageId,
    #[error("the push message's data is not base64")]
    DataNotBase64,
    #[error("the push message's data is not a JSON object: {0}")]
    DataNotJson(String),
    #[error("the notification has no emailAddress")]
    MissingEmailAddress,
    #[error("the notification's emailAddress is not a non-empty string")]
    InvalidEmailAddress,
    #[error("the notification has no historyId")]
    MissingHistoryId,
    #[error("the notification's historyId is not an unsigned integer")]
    InvalidHistoryId,
}

/// Reads a push body: `{"message": {"data": <base64 JSON>, "messageId": …}, "subscription": …}`
/// whose data is Gmail's `{"emailAddress": …, "historyId": …}`.
pub fn decode_push(body: &[u8]) -> Result<PushNotice, PushBodyError> {
    let push: Value = serde_json::from_slice(body).map_err(|e| PushBodyError::NotJson(e.to_string()))?;
    let message = push
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(PushBodyError::MissingMessage)?;
    let data = message
        .get("data")
        .and_then(Value::as_str)
        .ok_or(PushBodyError::MissingData)?;
    // Pub/Sub writes both spellings.
    let message_id = message
        .get("messageId")
        .or_else(|| message.get("message_id"))
        .and_then(Value::as_str)
        .ok_or(PushBodyError::MissingMessageId)?;
    let data = decode_base64(data).ok_or(PushBodyError::DataNotBase64)?;
    let notification: Value = serde_json::from_slice(&data).map_err(|e| PushBodyError::DataNotJson(e.to_string()))?;
    if !notification.is_object() {
        return Err(PushBodyError::DataNotJson("not an object".into()));
    }
    let email_address = match notification.get("emailAddress") {
        None => return Err(PushBodyError::MissingEmailAddress),
        Some(Value::String(address)) if !address.trim().is_empty() => address.trim().to_owned(),
        Some(_) => return Err(PushBodyError::InvalidEmailAddress),
    };
    let history_id = match notification.get("historyId") {
        None => return Err(PushBodyError::MissingHistoryId),
        Some(value) => uint64(value).ok_or(PushBodyError::InvalidHistoryId)?,
    };
    Ok(PushNotice {
        email_address,
        history_id: HistoryId(history_id),
        message_id: message_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    use serde_json::json;

    use super::*;

    fn push_of(data: &str) -> Vec<u8> {
        json!({
            "message": {
                "data": data,
                "messageId": "2070443601311540",
                "message_id": "2070443601311540",
                "publishTime": "2026-03-03T10:02:00.000Z",
                "attributes": {},
            },
            "subscription": "projects/tandem/subscriptions/gmail-push",
        })
        .to_string()
        .into_bytes()
    }

    fn push_with(notification: Value) -> Vec<u8> {
        push_of(&STANDARD.encode(notification.to_string()))
    }

    #[test]
    fn a_notification_is_read_with_its_history_id_as_a_number_or_a_string() {
        let expected = PushNotice {
            email_address: "support@tandem.example".into(),
            history_id: HistoryId(9876543210),
            message_id: "2070443601311540".into(),
        };
        for history_id in [json!(9876543210u64), json!("9876543210")] {
            let body = push_with(json!({"emailAddress": "support@tandem.example", "historyId": history_id}));
            assert_eq!(decode_push(&body), Ok(expected.clone()), "{history_id}");
        }
        // URL-safe and unpadded data too.
        let data = URL_SAFE_NO_PAD.encode(r#"{"emailAddress":"support@tandem.example","historyId":9876543210}"#);
        assert_eq!(decode_push(&push_of(&data)), Ok(expected));
    }

    #[test]
    fn each_defect_of_a_body_has_its_error() {
        let notification = push_with;
        let cases: Vec<(Vec<u8>, PushBodyError)> = vec![
            (b"{not json".to_vec(), PushBodyError::NotJson(String::new())),
            (br#"{"subscription": "s"}"#.to_vec(), PushBodyError::MissingMessage),
            (br#"{"message": "text"}"#.to_vec(), PushBodyError::MissingMessage),
            (
                br#"{"message": {"messageId": "1"}}"#.to_vec(),
                PushBodyError::MissingData,
            ),
            (
                br#"{"message": {"data": "e30="}}"#.to_vec(),
                PushBodyError::MissingMessageId,
            ),
            (push_of("%%% not base64"), PushBodyError::DataNotBase64),
            (
                push_of(&STANDARD.encode("plain text")),
                PushBodyError::DataNotJson(String::new()),
            ),
            (
                push_of(&STANDARD.encode("[1, 2]")),
                PushBodyError::DataNotJson(String::new()),
            ),
            (
                notification(json!({"historyId": 1})),
                PushBodyError::MissingEmailAddress,
            ),
            (
                notification(json!({"emailAddress": 7, "historyId": 1})),
                PushBodyError::InvalidEmailAddress,
            ),
            (
                notification(json!({"emailAddress": " ", "historyId": 1})),
                PushBodyError::InvalidEmailAddress,
            ),
            (
                notification(json!({"emailAddress": "a@b.example"})),
                PushBodyError::MissingHistoryId,
            ),
            (
                notification(json!({"emailAddress": "a@b.example", "historyId": -4})),
                PushBodyError::InvalidHistoryId,
            ),
            (
                notification(json!({"emailAddress": "a@b.example", "historyId": "12x"})),
                PushBodyError::InvalidHistoryId,
            ),
        ];
        for (body, expected) in cases {
            let error = decode_push(&body).expect_err(&expected.to_string());
            // The parsers' own words vary; the kind is what matters.
            assert_eq!(
                std::mem::discriminant(&error),
                std::mem::discriminant(&expected),
                "{error} for {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn bearer_tokens_are_taken_from_the_header_in_any_case() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
        assert_eq!(bearer_token("bearer  abc.def.ghi "), Ok("abc.def.ghi"));
        for not in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "abc.def.ghi"] {
            assert_eq!(bearer_token(not), Err(PushRejected::NotBearer), "{not}");
        }
    }

    #[test]
    fn keys_are_kept_for_the_max_age_google_gives() {
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
        assert_eq!(failed_just_now.missing(None), PushRejected::UnknownKey);
        assert!(matches!(
            Keys::default().missing(None),
            PushRejected::KeysUnavailable(_)
        ));
    }

    #[test]
    fn refusals_of_someone_elses_valid_token_are_forbidden_and_the_rest_unauthenticated() {
        assert_eq!(PushRejected::WrongServiceAccount { email: None }.status(), 403);
        assert_eq!(PushRejected::EmailNotVerified.status(), 403);
        assert_eq!(PushRejected::KeysUnavailable("down".into()).status(), 503);
        for unauthenticated in [
            PushRejected::MissingHeader,
            PushRejected::NotBearer,
            PushRejected::BadSignature,
            PushRejected::UnknownKey,
            PushRejected::Expired,
            PushRejected::WrongIssuer,
            PushRejected::WrongAudience,
        ] {
            assert_eq!(unauthenticated.status(), 401, "{unauthenticated}");
        }
    }
}
