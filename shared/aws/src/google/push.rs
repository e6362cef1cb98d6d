//! Pub/Sub's pushes to the Gmail webhook. Each carries an OIDC token that Google signs for
//! the subscription's service account (`Authorization: Bearer <JWT>`): RS256 under one of
//! Google's published keys (checked by [`crate::jwt::JwksVerifier`]), issued by Google for the
//! audience the subscription names. The body holds the mailbox's notification, base64 JSON:
//! the mailbox's address and the history id it reached.

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;
use support_core::ports::mailbox::HistoryId;

use super::{decode_base64, uint64};
use crate::jwt::{bearer_token, JwksVerifier, TokenRejected};

/// The `iss` of Google's tokens: Google documents both forms.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
/// Google's published signing keys.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// Clock skew allowed on `exp`.
const LEEWAY_SECONDS: u64 = 30;

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
    /// The token is not a valid Google token for this endpoint (or Google's keys are out of reach).
    #[error(transparent)]
    Token(#[from] TokenRejected),
    #[error(
        "the token is Google's for {}, not the push service account",
        email.as_deref().unwrap_or("no email")
    )]
    WrongServiceAccount { email: Option<String> },
    #[error("the token's email is not verified")]
    EmailNotVerified,
}

impl PushRejected {
    /// The webhook's answer: 401 for a token that is not a valid Google token for this
    /// endpoint, 403 for Google's token of someone else, 503 when the keys are out of reach
    /// (nothing is wrong with the push, and Pub/Sub retries it).
    pub fn status(&self) -> u16 {
        match self {
            Self::WrongServiceAccount { .. } | Self::EmailNotVerified => 403,
            Self::Token(TokenRejected::KeysUnavailable(_)) => 503,
            Self::Token(_) => 401,
        }
    }
}

/// Verifies pushes against Google's keys, fetched once and shared by clones.
#[derive(Clone)]
pub struct PushVerifier {
    keys: JwksVerifier,
    service_account: String,
    validation: Validation,
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
            keys: JwksVerifier::new(config.jwks_url)?,
            service_account: config.service_account,
            validation,
        })
    }

    /// Whether the request's `Authorization` header is Pub/Sub's, for this endpoint.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<(), PushRejected> {
        let token = bearer_token(authorization.ok_or(TokenRejected::MissingHeader)?)?;
        let claims: PushClaims = self.keys.decode(token, &self.validation).await?;
        match claims.email {
            Some(email) if email.eq_ignore_ascii_case(&self.service_account) => {}
            email => return Err(PushRejected::WrongServiceAccount { email }),
        }
        match claims.email_verified {
            true => Ok(()),
            false => Err(PushRejected::EmailNotVerified),
        }
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
    fn refusals_of_someone_elses_valid_token_are_forbidden_and_the_rest_unauthenticated() {
        assert_eq!(PushRejected::WrongServiceAccount { email: None }.status(), 403);
        assert_eq!(PushRejected::EmailNotVerified.status(), 403);
        assert_eq!(
            PushRejected::Token(TokenRejected::KeysUnavailable("down".into())).status(),
            503
        );
        for unauthenticated in [
            TokenRejected::MissingHeader,
            TokenRejected::NotBearer,
            TokenRejected::BadSignature,
            TokenRejected::UnknownKey,
            TokenRejected::Expired,
            TokenRejected::WrongIssuer,
            TokenRejected::WrongAudience,
        ] {
            let rejected = PushRejected::Token(unauthenticated);
            assert_eq!(rejected.status(), 401, "{rejected}");
        }
    }
}
