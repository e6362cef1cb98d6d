//! Access tokens for Google's APIs by OAuth 2.0's refresh-token grant: a form POST of the
//! client's id and secret and the mailbox owner's refresh token to the token endpoint, which
//! answers an access token and how long it lives. The token is kept until shortly before
//! then, and fetched again early when an API refuses it.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Google's token endpoint.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// How long before its expiry an access token is replaced, so that none expires in flight.
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);

/// The refresh-token grant's parameters (the secrets' `Debug` is redacted).
#[derive(Debug, Clone)]
pub struct RefreshTokenGrant {
    /// [`GOOGLE_TOKEN_URL`] in production.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The endpoint refused the client or the refresh token (`invalid_grant`: revoked or
    /// expired; `invalid_client`): retrying will not help until a person fixes them.
    #[error("Google refused the refresh token grant: {0}")]
    Refused(String),
    /// The endpoint could not be reached, or failed: a later attempt may pass.
    #[error("Google's token endpoint is unavailable: {0}")]
    Unavailable(String),
}

/// Access tokens from one grant, kept while they are valid.
pub struct AccessTokens {
    http: reqwest::Client,
    grant: RefreshTokenGrant,
    /// Held across a fetch, so concurrent callers share one new token.
    current: tokio::sync::Mutex<Option<AccessToken>>,
}

struct AccessToken {
    value: SecretString,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: SecretString,
    expires_in: u64,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl AccessTokens {
    pub fn new(http: reqwest::Client, grant: RefreshTokenGrant) -> Self {
        Self {
            http,
            grant,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid access token: the kept one until shortly before it expires.
    pub async fn token(&self) -> Result<SecretString, TokenError> {
        self.valid_token(None).await
    }

    /// A new access token after an API refused `refused` (revoked, or expired early); the one
    /// another caller fetched meanwhile if there is one.
    pub async fn refresh(&self, refused: &SecretString) -> Result<SecretString, TokenError> {
        self.valid_token(Some(refused)).await
    }

    async fn valid_token(&self, refused: Option<&SecretString>) -> Result<SecretString, TokenError> {
        let mut current = self.current.lock().await;
        let usable = |token: &&AccessToken| {
            Instant::now() < token.renew_at
                && refused.is_none_or(|refused| refused.expose_secret() != token.value.expose_secret())
        };
        if let Some(token) = current.as_ref().filter(usable) {
            return Ok(token.value.clone());
        }
        let token = self.fetch().await?;
        let value = token.value.clone();
        *current = Some(token);
        Ok(value)
    }

    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", &self.grant.client_id),
            ("client_secret", self.grant.client_secret.expose_secret()),
            ("refresh_token", self.grant.refresh_token.expose_secret()),
        ];
        let asked_at = Instant::now();
        let response = self
            .http
            .post(&self.grant.token_url)
            .form(&form)
            .send()
            .await
            // Without the URL: nothing secret is in it, but nothing of the request is needed.
            .map_err(|e| TokenError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            let answer: TokenAnswer = response
                .json()
                .await
                .map_err(|e| TokenError::Unavailable(format!("unreadable answer: {e}")))?;
            let lifetime = Duration::from_secs(answer.expires_in);
            return Ok(AccessToken {
                value: answer.access_token,
                renew_at: asked_at + lifetime.saturating_sub(RENEWAL_MARGIN),
            });
        }
        let why = match response.json::<ErrorAnswer>().await {
            Ok(ErrorAnswer {
                error,
                error_description: Some(description),
            }) => format!("HTTP {status}: {error}: {description}"),
            Ok(ErrorAnswer { error, .. }) => format!("HTTP {status}: {error}"),
            Err(_) => format!("HTTP {status}"),
        };
        match status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
            true => Err(TokenError::Refused(why)),
            false => Err(TokenError::Unavailable(why)),
        }
    }
}
