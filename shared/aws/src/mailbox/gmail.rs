//! The support mailbox through Gmail's API: `users.history.list` for what arrived since a
//! history id, `users.messages.list` and `users.getProfile` for a full sync,
//! `users.messages.get` in raw form, and `users.watch` for the pushes; authorised by access
//! tokens from the mailbox owner's refresh token. The base URL is configurable (a local
//! stand-in on one machine). Neither tokens nor messages are ever logged.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use support_core::ports::mailbox::{HistoryId, InboxChanges, Mailbox, MailboxError, MailboxMessage, MessageRef, Watch};
use support_core::ports::InfraError;

use crate::google::oauth::{AccessTokens, RefreshTokenGrant, TokenError};
use crate::google::{decode_base64, uint64_field};

/// Gmail's API.
pub const GMAIL_API_BASE_URL: &str = "https://gmail.googleapis.com";
/// How long one API call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most messages `users.messages.list` gives in one page.
const MAX_LIST_PAGE: usize = 500;
const INBOX: &str = "INBOX";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmailConfig {
    /// [`GMAIL_API_BASE_URL`] in production.
    pub api_base_url: String,
    /// The mailbox: `me` (the refresh token's account) or its address.
    pub user: String,
    /// The Pub/Sub topic `watch` publishes to: `projects/{project}/topics/{topic}`.
    pub topic_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GmailSetupError {
    #[error("the Gmail API base URL `{0}` is not a URL that takes a path")]
    BaseUrl(String),
    #[error("the HTTP client could not be built: {0}")]
    Http(#[from] reqwest::Error),
}

pub struct GmailMailbox {
    http: reqwest::Client,
    /// `{base}/gmail/v1/users/{user}`.
    user_url: Url,
    topic_name: String,
    tokens: AccessTokens,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryPage {
    #[serde(default)]
    history: Vec<HistoryRecord>,
    next_page_token: Option<String>,
    #[serde(deserialize_with = "uint64_field")]
    history_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryRecord {
    #[serde(deserialize_with = "uint64_field")]
    id: u64,
    #[serde(default)]
    messages_added: Vec<MessageAdded>,
}

#[derive(Deserialize)]
struct MessageAdded {
    message: ListedMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedMessage {
    id: String,
    thread_id: String,
}

impl From<ListedMessage> for MessageRef {
    fn from(m: ListedMessage) -> Self {
        MessageRef {
            id: m.id,
            thread_id: m.thread_id,
            history_id: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessagePage {
    #[serde(default)]
    messages: Vec<ListedMessage>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(deserialize_with = "uint64_field")]
    history_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    id: String,
    thread_id: String,
    #[serde(default)]
    label_ids: Vec<String>,
    /// Milliseconds since the epoch.
    #[serde(deserialize_with = "uint64_field")]
    internal_date: u64,
    raw: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WatchAnswer {
    #[serde(deserialize_with = "uint64_field")]
    history_id: u64,
    /// Milliseconds since the epoch.
    #[serde(deserialize_with = "uint64_field")]
    expiration: u64,
}

/// Google's error body: `{"error": {"code", "message", "errors": [{"domain", "reason"}]}}`.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    domain: String,
}

impl GmailMailbox {
    pub fn new(config: GmailConfig, grant: RefreshTokenGrant) -> Result<Self, GmailSetupError> {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
        let base_url_error = || GmailSetupError::BaseUrl(config.api_base_url.clone());
        let mut user_url = Url::parse(&config.api_base_url).map_err(|_| base_url_error())?;
        user_url
            .path_segments_mut()
            .map_err(|()| base_url_error())?
            .pop_if_empty()
            .extend(["gmail", "v1", "users", &config.user]);
        Ok(Self {
            tokens: AccessTokens::new(http.clone(), grant),
            http,
            user_url,
            topic_name: config.topic_name,
        })
    }

    /// The URL of a resource of the user's: `path` is its segments.
    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.user_url.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to take a path")
            .extend(path);
        url
    }

    async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, MailboxError> {
        let url = self.url(path);
        self.call(operation, |token| {
            self.http
                .get(url.clone())
                .query(query)
                .bearer_auth(token.expose_secret())
        })
        .await
    }

    /// The request with a valid access token; once more with a new token if Gmail refuses
    /// the first (revoked, or expired early). Its successful answer, or what its failure means.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        request: impl Fn(&SecretString) -> reqwest::RequestBuilder,
    ) -> Result<T, MailboxError> {
        let token = self.tokens.token().await.map_err(token_failure)?;
        let mut response = request(&token)
            .send()
            .await
            .map_err(|e| unavailable(operation, e.without_url()))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            tracing::info!(operation, "Gmail refused the access token; refreshing it once");
            let token = self.tokens.refresh(&token).await.map_err(token_failure)?;
            response = request(&token)
                .send()
                .await
                .map_err(|e| unavailable(operation, e.without_url()))?;
        }
        let status = response.status();
        if !status.is_success() {
            return Err(failure(operation, status, response.json().await.ok()));
        }
        response
            .json()
            .await
            .map_err(|e| unavailable(operation, e.without_url()))
    }
}

fn token_failure(e: TokenError) -> MailboxError {
    match e {
        TokenError::Refused(_) => MailboxError::Refused(e.to_string()),
        TokenError::Unavailable(_) => unavailable("Google access token", e),
    }
}

/// A failure a later attempt may not meet.
fn unavailable(operation: &'static str, why: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> MailboxError {
    MailboxError::Unavailable(InfraError::new(operation, why))
}

/// What an answer other than success means: 404 is gone, throttling (429, or 403 for Gmail's
/// usage limits) and server errors pass, other refusals (401 with a fresh token, 403, 400)
/// are this deployment's configuration.
fn failure(operation: &'static str, status: StatusCode, answer: Option<ErrorAnswer>) -> MailboxError {
    let detail = answer.map(|a| a.error);
    let usage_limit = detail
        .as_ref()
        .is_some_and(|d| d.errors.iter().any(|e| e.domain == "usageLimits"));
    let why = match detail.as_ref().map(|d| d.message.as_str()).filter(|m| !m.is_empty()) {
        Some(message) => format!("HTTP {status}: {message}"),
        None => format!("HTTP {status}"),
    };
    match status {
        StatusCode::NOT_FOUND => MailboxError::NotFound,
        StatusCode::TOO_MANY_REQUESTS => unavailable(operation, why),
        StatusCode::FORBIDDEN if usage_limit => unavailable(operation, why),
        s if s.is_client_error() => MailboxError::Refused(format!("{operation}: {why}")),
        _ => unavailable(operation, why),
    }
}

#[async_trait]
impl Mailbox for GmailMailbox {
    async fn inbox_added_since(&self, since: HistoryId) -> Result<InboxChanges, MailboxError> {
        const OPERATION: &str = "Gmail history.list";
        let mut seen = HashSet::new();
        let mut added = Vec::new();
        let mut page_token: Option<String> = None;
        // The first page's: what changes while later pages are read is read again next time.
        let mut first_history_id = None;
        loop {
            let mut query = vec![
                ("startHistoryId", since.to_string()),
                ("historyTypes", "messageAdded".to_owned()),
                ("labelId", INBOX.to_owned()),
            ];
            query.extend(page_token.map(|t| ("pageToken", t)));
            let page: HistoryPage = match self.get(OPERATION, &["history"], &query).await {
                Err(MailboxError::NotFound) => return Err(MailboxError::HistoryExpired),
                other => other?,
            };
            let history_id = *first_history_id.get_or_insert(page.history_id);
            // Records come oldest first; a message can be in several.
            for record in page.history {
                for MessageAdded { message } in record.messages_added {
                    if seen.insert(message.id.clone()) {
                        added.push(MessageRef {
                            history_id: Some(HistoryId(record.id)),
                            ..MessageRef::from(message)
                        });
                    }
                }
            }
            match page.next_page_token {
                Some(next) => page_token = Some(next),
                None => {
                    return Ok(InboxChanges {
                        added,
                        history_id: HistoryId(history_id),
                    })
                }
            }
        }
    }

    async fn recent_inbox(&self, limit: usize) -> Result<InboxChanges, MailboxError> {
        const OPERATION: &str = "Gmail messages.list";
        // The history id first: what arrives while the list is read is then after it, and the
        // next sync from it sees it (at worst twice, never not at all).
        let profile: Profile = self.get("Gmail getProfile", &["profile"], &[]).await?;
        let mut newest_first = Vec::new();
        let mut page_token: Option<String> = None;
        while newest_first.len() < limit {
            let mut query = vec![
                ("labelIds", INBOX.to_owned()),
                (
                    "maxResults",
                    (limit - newest_first.len()).min(MAX_LIST_PAGE).to_string(),
                ),
            ];
            query.extend(page_token.take().map(|t| ("pageToken", t)));
            let page: MessagePage = self.get(OPERATION, &["messages"], &query).await?;
            newest_first.extend(page.messages.into_iter().map(MessageRef::from));
            match page.next_page_token {
                Some(next) => page_token = Some(next),
                None => break,
            }
        }
        newest_first.truncate(limit);
        newest_first.reverse();
        Ok(InboxChanges {
            added: newest_first,
            history_id: HistoryId(profile.history_id),
        })
    }

    async fn message(&self, id: &str) -> Result<MailboxMessage, MailboxError> {
        const OPERATION: &str = "Gmail messages.get";
        let message: RawMessage = self
            .get(OPERATION, &["messages", id], &[("format", "raw".to_owned())])
            .await?;
        let raw =
            decode_base64(&message.raw).ok_or_else(|| unavailable(OPERATION, "the raw message is not base64url"))?;
        let received_at = i64::try_from(message.internal_date)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| unavailable(OPERATION, "the internalDate is out of range"))?;
        Ok(MailboxMessage {
            id: message.id,
            thread_id: message.thread_id,
            raw,
            labels: message.label_ids,
            received_at,
        })
    }

    async fn watch(&self) -> Result<Watch, MailboxError> {
        const OPERATION: &str = "Gmail watch";
        let url = self.url(&["watch"]);
        let body = json!({
            "topicName": self.topic_name,
            "labelIds": [INBOX],
            "labelFilterBehavior": "INCLUDE",
        });
        let answer: WatchAnswer = self
            .call(OPERATION, |token| {
                self.http
                    .post(url.clone())
                    .json(&body)
                    .bearer_auth(token.expose_secret())
            })
            .await?;
        let expires_at = i64::try_from(answer.expiration)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| unavailable(OPERATION, "the expiration is out of range"))?;
        Ok(Watch {
            history_id: HistoryId(answer.history_id),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(domain: &str) -> Option<ErrorAnswer> {
        Some(ErrorAnswer {
            error: ErrorDetail {
                message: "scripted".into(),
                errors: vec![ErrorItem { domain: domain.into() }],
            },
        })
    }

    #[test]
    fn throttling_and_server_errors_pass_and_other_refusals_are_final() {
        let kind = |status: u16, answer: Option<ErrorAnswer>| match failure(
            "test",
            StatusCode::from_u16(status).unwrap(),
            answer,
        ) {
            MailboxError::NotFound => "gone",
            MailboxError::Unavailable(_) => "passing",
            MailboxError::Refused(_) => "final",
            MailboxError::HistoryExpired => "expired",
        };
        assert_eq!(kind(404, None), "gone");
        assert_eq!(kind(429, None), "passing");
        assert_eq!(kind(500, None), "passing");
        assert_eq!(kind(503, answer("global")), "passing");
        assert_eq!(
            kind(403, answer("usageLimits")),
            "passing",
            "Gmail's rate limits are 403s"
        );
        assert_eq!(kind(403, answer("global")), "final");
        assert_eq!(kind(403, None), "final");
        assert_eq!(kind(400, None), "final");
        assert_eq!(kind(401, None), "final", "a second 401, with a fresh token");
    }

    #[test]
    fn resources_are_under_the_users_path_whatever_the_base() {
        let grant = RefreshTokenGrant {
            token_url: "http://127.0.0.1:1/token".into(),
            client_id: "id".into(),
            client_secret: "secret".into(),
            refresh_token: "refresh".into(),
        };
        for base in ["https://gmail.googleapis.com", "http://127.0.0.1:3000/local/google/"] {
            let config = GmailConfig {
                api_base_url: base.into(),
                user: "support@tandem.example".into(),
                topic_name: "projects/p/topics/t".into(),
            };
            let gmail = GmailMailbox::new(config, grant.clone()).unwrap();
            let url = gmail.url(&["messages", "18c5f3a2b4d6e8f0"]).to_string();
            assert_eq!(
                url,
                format!(
                    "{}/gmail/v1/users/support@tandem.example/messages/18c5f3a2b4d6e8f0",
                    base.trim_end_matches('/')
                )
            );
        }
    }
}
