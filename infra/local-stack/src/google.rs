//! A local stand-in for Google's side of the email channel: the OAuth token endpoint,
//! Google's published signing keys, the Gmail API of one mailbox (the support address), and
//! Pub/Sub's signed pushes to the Gmail webhook. Served under `/local/google/`:
//!
//! - `POST /local/google/token`: the refresh-token grant (form `grant_type=refresh_token`,
//!   `client_id`, `client_secret`, `refresh_token`) against the development credentials;
//!   answers `{"access_token", "expires_in", "token_type": "Bearer"}`, or Google's refusals
//!   (`invalid_client` 401 for the client, `invalid_grant` 400 for the refresh token);
//! - `GET /local/google/oauth2/v3/certs`: the JWKS of the stand-in's RSA key, generated at
//!   start;
//! - `/local/google/gmail/v1/users/{user}/…` for `me` or the mailbox's address, with an
//!   access token from the token endpoint (401 otherwise): `history` (added messages only,
//!   in pages of at most [`GoogleStandInConfig::history_page_size`]), `messages` (newest
//!   first), `messages/{id}` (`format=raw`), `profile` and `watch`;
//! - `POST /local/google/script` (JSON [`Script`]): the next history calls answer 404 (a
//!   history id too old), the next pushes are lost, the access tokens issued are revoked.
//!
//! And for tests and developers, under `/local/gmail/`:
//!
//! - `POST /local/gmail/messages`, a raw RFC 822 message as the body (`message/rfc822`):
//!   stores it with label INBOX (`?label=SENT` for mail the support address sent), threaded
//!   by its In-Reply-To and References, advances the history, and pushes the change to the
//!   push endpoint as Pub/Sub does (for every change, as a watch without a label filter
//!   would): the notification as JSON, with Google's token for the push service account.
//!   Answers `{"id", "threadId", "historyId", "push": {"status": <the webhook's answer>, …}}`;
//! - `GET /local/gmail/pushes`: every push, with the webhook's answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where the Google stand-in is served, under the gateway's URL.
pub const GOOGLE_STAND_IN_PATH: &str = "/local/google";
/// Where the test mailbox's own routes are, under the gateway's URL.
pub const GMAIL_STAND_IN_PATH: &str = "/local/gmail";

/// The development OAuth client, for the local stack's functions unless the environment
/// sets one.
pub const LOCAL_CLIENT_ID: &str = "local-development.apps.googleusercontent.com";
pub const LOCAL_CLIENT_SECRET: &str = "local-development-google-client-secret";
/// The development refresh token of the support mailbox.
pub const LOCAL_REFRESH_TOKEN: &str = "local-development-gmail-refresh-token";
/// The service account the local pushes are signed for.
pub const LOCAL_PUSH_SERVICE_ACCOUNT: &str = "gmail-push@tandem-local.iam.gserviceaccount.com";
/// The support mailbox's address.
pub const LOCAL_SUPPORT_MAILBOX: &str = "support@tandem.example";
/// The Pub/Sub topic the mailbox's watch names locally (nothing publishes to it: the
/// stand-in pushes to the webhook itself).
pub const LOCAL_PUBSUB_TOPIC: &str = "projects/tandem-local/topics/support-mailbox";
/// The Pub/Sub subscription named in the pushes.
const LOCAL_SUBSCRIPTION: &str = "projects/tandem-local/subscriptions/gmail-push";

/// Google's issuer, as in Pub/Sub's tokens.
const ISSUER: &str = "https://accounts.google.com";
/// Google's keys are 2048-bit RSA.
const KEY_BITS: usize = 2048;
/// How long the keys may be cached (Google's answers say some hours).
const KEYS_MAX_AGE_SECONDS: u64 = 3600;
/// How long a push token is valid, as Pub/Sub's.
const PUSH_TOKEN_LIFETIME_SECONDS: i64 = 3600;
/// Gmail's largest page of `history.list` and `messages.list`, and its default.
const MAX_PAGE: usize = 500;
const DEFAULT_PAGE: usize = 100;
/// How long `watch` lasts: Gmail's watches expire after 7 days.
const WATCH_DAYS: i64 = 7;
/// The first history id of a new mailbox.
const INITIAL_HISTORY_ID: u64 = 1000;
/// The largest message accepted: Gmail's limit on a raw message through its API.
const MAX_MESSAGE_BYTES: usize = 35 * 1024 * 1024;
/// How long a push may wait for the webhook's answer (Pub/Sub's longest acknowledgement
/// deadline is 10 minutes; the local webhook answers in seconds).
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// The stand-in's URLs on a server at `origin` (`http://127.0.0.1:PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleUrls {
    /// `GOOGLE_JWKS_URL`.
    pub jwks: String,
    /// `GOOGLE_TOKEN_URL`.
    pub token: String,
    /// `GMAIL_API_BASE_URL`: the API is under `{gmail_api}/gmail/v1/`.
    pub gmail_api: String,
}

impl GoogleUrls {
    pub fn on(origin: &str) -> Self {
        let base = format!("{}{GOOGLE_STAND_IN_PATH}", origin.trim_end_matches('/'));
        Self {
            jwks: format!("{base}/oauth2/v3/certs"),
            token: format!("{base}/token"),
            gmail_api: base,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GoogleStandInConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
    /// The support mailbox's address.
    pub mailbox: String,
    /// Where Pub/Sub pushes go (the Gmail webhook); without one, pushes are only recorded.
    pub push_endpoint: Option<String>,
    /// The `aud` of the push tokens: what the webhook expects (the local stack's is the
    /// functions' `GMAIL_PUSH_AUDIENCE`, by default the push endpoint's URL).
    pub push_audience: String,
    /// The `email` of the push tokens.
    pub push_service_account: String,
    /// The most records in a page of `history.list` (Gmail's is 500): small in tests, to
    /// make a sync read several pages.
    pub history_page_size: usize,
    /// The `expires_in` of the access tokens issued (Google's are an hour).
    pub access_token_lifetime: Duration,
}

impl Default for GoogleStandInConfig {
    fn default() -> Self {
        Self {
            client_id: LOCAL_CLIENT_ID.into(),
            client_secret: LOCAL_CLIENT_SECRET.into(),
            refresh_token: LOCAL_REFRESH_TOKEN.into(),
            mailbox: LOCAL_SUPPORT_MAILBOX.into(),
            push_endpoint: None,
            push_audience: String::new(),
            push_service_account: LOCAL_PUSH_SERVICE_ACCOUNT.into(),
            history_page_size: MAX_PAGE,
            access_token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Trouble to make, in order: `{"expire_history": 1, "drop_pushes": 1,
/// "revoke_access_tokens": true}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Script {
    /// The next this many `history.list` calls answer 404, as for a history id too old.
    #[serde(default)]
    pub expire_history: usize,
    /// The next this many pushes are lost (never sent), as Pub/Sub may lose them.
    #[serde(default)]
    pub drop_pushes: usize,
    /// The access tokens issued so far are refused from now on (401).
    #[serde(default)]
    pub revoke_access_tokens: bool,
}

/// A push the stand-in sent, or would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRecord {
    /// Pub/Sub's message id.
    pub message_id: String,
    pub email_address: String,
    pub history_id: u64,
    pub endpoint: Option<String>,
    /// Lost as scripted: never sent.
    pub dropped: bool,
    /// The webhook's HTTP status; none when not sent or not answered.
    pub status: Option<u16>,
    /// Why the webhook did not answer.
    pub error: Option<String>,
    pub sent_at: DateTime<Utc>,
}

/// A message stored, and the push of its change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    pub id: String,
    pub thread_id: String,
    pub history_id: u64,
    pub push: PushRecord,
}

/// A `watch` request received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchRequest {
    #[serde(default)]
    pub topic_name: String,
    #[serde(default)]
    pub label_ids: Vec<String>,
    #[serde(default)]
    pub label_filter_behavior: Option<String>,
}

struct StoredMessage {
    id: String,
    thread_id: String,
    raw: Vec<u8>,
    labels: Vec<String>,
    received_at: DateTime<Utc>,
    /// Its Message-ID, without the angle brackets.
    rfc822_id: Option<String>,
    /// The history id of its arrival.
    history_id: u64,
}

struct Record {
    /// Oldest first: arrival order is history order.
    messages: Vec<StoredMessage>,
    history_id: u64,
    access_tokens: HashMap<String, Instant>,
    token_grants: usize,
    pushes: Vec<PushRecord>,
    watches: Vec<WatchRequest>,
    expire_history: usize,
    drop_pushes: usize,
}

/// The key pushes are signed with, and its public half as published.
struct SigningKey {
    kid: String,
    key: EncodingKey,
    jwks: JwkSet,
}

pub struct GoogleStandIn {
    config: GoogleStandInConfig,
    signing: SigningKey,
    /// Another key, never published, for forged tokens; made when first asked for.
    unpublished: OnceLock<EncodingKey>,
    record: Mutex<Record>,
    http: reqwest::Client,
}

fn generate_rsa_key() -> EncodingKey {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS).expect("an RSA key is generated");
    let der = key.to_pkcs1_der().expect("a generated RSA key encodes");
    EncodingKey::from_rsa_der(der.as_bytes())
}

impl GoogleStandIn {
    /// Generates the signing key: a fraction of a second.
    pub fn new(config: GoogleStandInConfig) -> Arc<Self> {
        let key = generate_rsa_key();
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("an RSA key has a JWK");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Arc::new(Self {
            config,
            signing: SigningKey {
                kid,
                key,
                jwks: JwkSet { keys: vec![jwk] },
            },
            unpublished: OnceLock::new(),
            record: Mutex::new(Record {
                messages: Vec::new(),
                history_id: INITIAL_HISTORY_ID,
                access_tokens: HashMap::new(),
                token_grants: 0,
                pushes: Vec::new(),
                watches: Vec::new(),
                expire_history: 0,
                drop_pushes: 0,
            }),
            http: reqwest::Client::builder()
                .timeout(PUSH_TIMEOUT)
                .build()
                .expect("an HTTP client builds"),
        })
    }

    pub fn config(&self) -> &GoogleStandInConfig {
        &self.config
    }

    /// The `kid` of the published key.
    pub fn key_id(&self) -> &str {
        &self.signing.kid
    }

    /// The claims of a push token as Pub/Sub makes them, valid for an hour from now.
    pub fn push_claims(&self) -> Value {
        let now = Utc::now().timestamp();
        json!({
            "iss": ISSUER,
            "aud": self.config.push_audience,
            "azp": "local-push-service-account",
            "sub": "local-push-service-account",
            "email": self.config.push_service_account,
            "email_verified": true,
            "iat": now,
            "exp": now + PUSH_TOKEN_LIFETIME_SECONDS,
        })
    }

    /// A token signed with the published key (RS256, its `kid` in the header).
    pub fn sign_token(&self, claims: &Value) -> String {
        sign(&self.signing.key, &self.signing.kid, claims)
    }

    /// A token signed with a key Google never published, under `kid`: the published key's
    /// id makes a bad signature, another an unknown key.
    pub fn sign_token_with_unpublished_key(&self, claims: &Value, kid: &str) -> String {
        sign(self.unpublished.get_or_init(generate_rsa_key), kid, claims)
    }

    /// Stores a raw message with `label`, and pushes the change.
    pub async fn deliver(&self, raw: Vec<u8>, label: &str) -> Delivered {
        let (id, thread_id, history_id, dropped) = {
            let mut record = self.record.lock().expect("not poisoned");
            let dropped = record.drop_pushes > 0;
            record.drop_pushes = record.drop_pushes.saturating_sub(1);
            let message = record.store(raw, label);
            (
                message.id.clone(),
                message.thread_id.clone(),
                message.history_id,
                dropped,
            )
        };
        let push = self.push(history_id, dropped).await;
        self.record.lock().expect("not poisoned").pushes.push(push.clone());
        Delivered {
            id,
            thread_id,
            history_id,
            push,
        }
    }

    /// Every push, oldest first.
    pub fn pushes(&self) -> Vec<PushRecord> {
        self.record.lock().expect("not poisoned").pushes.clone()
    }

    /// Every `watch` request, oldest first.
    pub fn watches(&self) -> Vec<WatchRequest> {
        self.record.lock().expect("not poisoned").watches.clone()
    }

    /// How many access tokens the token endpoint issued.
    pub fn token_grants(&self) -> usize {
        self.record.lock().expect("not poisoned").token_grants
    }

    pub fn script(&self, script: Script) {
        let mut record = self.record.lock().expect("not poisoned");
        record.expire_history += script.expire_history;
        record.drop_pushes += script.drop_pushes;
        if script.revoke_access_tokens {
            record.access_tokens.clear();
        }
    }

    /// Sends Pub/Sub's push of the mailbox's new history id, unless it is to be lost.
    async fn push(&self, history_id: u64, dropped: bool) -> PushRecord {
        let message_id = (uuid::Uuid::new_v4().as_u64_pair().0 % 10_u64.pow(16)).to_string();
        let mut record = PushRecord {
            message_id: message_id.clone(),
            email_address: self.config.mailbox.clone(),
            history_id,
            endpoint: self.config.push_endpoint.clone(),
            dropped,
            status: None,
            error: None,
            sent_at: Utc::now(),
        };
        let Some(endpoint) = self.config.push_endpoint.as_deref().filter(|_| !dropped) else {
            return record;
        };
        let notification = json!({ "emailAddress": self.config.mailbox, "historyId": history_id });
        let published = record.sent_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body = json!({
            "message": {
                "data": STANDARD.encode(notification.to_string()),
                "messageId": message_id,
                "message_id": message_id,
                "publishTime": published,
                "publish_time": published,
                "attributes": {},
            },
            "subscription": LOCAL_SUBSCRIPTION,
        });
        let token = self.sign_token(&self.push_claims());
        match self.http.post(endpoint).bearer_auth(token).json(&body).send().await {
            Ok(answer) => {
                if !answer.status().is_success() {
                    tracing::warn!(history_id, status = %answer.status(), "the Gmail push was refused");
                }
                record.status = Some(answer.status().as_u16());
            }
            Err(e) => {
                tracing::warn!(history_id, error = %e, "the Gmail push failed");
                record.error = Some(e.to_string());
            }
        }
        record
    }

    /// Google's answer to a Gmail API request without a valid access token, or for another
    /// mailbox, if so.
    #[allow(clippy::result_large_err)] // the refusal is the response itself
    fn authorize(&self, headers: &HeaderMap, user: &str) -> Result<(), Response> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let now = Instant::now();
        let valid = token.is_some_and(|token| {
            let record = self.record.lock().expect("not poisoned");
            record.access_tokens.get(token).is_some_and(|expiry| now < *expiry)
        });
        if !valid {
            return Err(google_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            ));
        }
        match user == "me" || user.eq_ignore_ascii_case(&self.config.mailbox) {
            true => Ok(()),
            false => Err(google_error(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                &format!("Delegation denied for {}", self.config.mailbox),
            )),
        }
    }
}

impl Record {
    /// Stores a message: a Gmail-like id, the thread of a message it answers (or its own),
    /// the next history id.
    fn store(&mut self, raw: Vec<u8>, label: &str) -> &StoredMessage {
        self.history_id += 1;
        let received_at = Utc::now();
        // Gmail's ids grow with time: milliseconds, then a sequence number.
        let id = format!(
            "{:016x}",
            ((received_at.timestamp_millis() as u64) << 20) | (self.messages.len() as u64 & 0xf_ffff)
        );
        let fields = header_fields(&raw);
        let field = |name: &'static str| {
            fields
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let answered: HashSet<&str> = field("In-Reply-To")
            .chain(field("References"))
            .flat_map(message_ids)
            .collect();
        let thread_id = self
            .messages
            .iter()
            .rev()
            .find(|m| m.rfc822_id.as_deref().is_some_and(|own| answered.contains(own)))
            .map_or_else(|| id.clone(), |m| m.thread_id.clone());
        let rfc822_id = field("Message-ID").flat_map(message_ids).next().map(str::to_owned);
        self.messages.push(StoredMessage {
            id,
            thread_id,
            raw,
            labels: vec![label.to_owned()],
            received_at,
            rfc822_id,
            history_id: self.history_id,
        });
        self.messages.last().expect("just pushed")
    }
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("an RSA key signs any claims")
}

/// The header fields of a raw message, unfolded, in order (enough for threading: no MIME
/// decoding of the values).
fn header_fields(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines().take_while(|line| !line.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    fields
}

/// The message ids (`<…>`) in a header value, without their brackets.
fn message_ids(value: &str) -> impl Iterator<Item = &str> {
    value
        .split('<')
        .skip(1)
        .filter_map(|part| part.split_once('>').map(|(id, _)| id.trim()))
}

/// An error as Google's APIs answer it.
fn google_error(status: StatusCode, status_name: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message, "status": status_name } });
    (status, Json(body)).into_response()
}

/// The refusal of the token endpoint, as Google's OAuth server answers.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// A page of a list: `answer` with the page's `items` under `field` (left out when empty, as
/// Gmail does) and the next page's token, from the offset a page token holds (the stand-in's
/// tokens are offsets).
fn paged(mut answer: Value, field: &str, items: Vec<Value>, page_token: Option<&str>, size: usize) -> Response {
    let start = match page_token.map(str::parse::<usize>) {
        None => 0,
        Some(Ok(start)) => start,
        Some(Err(_)) => return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid pageToken"),
    };
    let end = start.saturating_add(size.max(1)).min(items.len());
    if end < items.len() {
        answer["nextPageToken"] = Value::String(end.to_string());
    }
    let page: Vec<Value> = items.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    if !page.is_empty() {
        answer[field] = Value::Array(page);
    }
    Json(answer).into_response()
}

type Shared = Arc<GoogleStandIn>;

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

async fn token(State(google): State<Shared>, Form(request): Form<TokenRequest>) -> Response {
    if request.grant_type.as_deref() != Some("refresh_token") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type");
    }
    let config = &google.config;
    if request.client_id.as_deref() != Some(config.client_id.as_str())
        || request.client_secret.as_deref() != Some(config.client_secret.expose_secret())
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    if request.refresh_token.as_deref() != Some(config.refresh_token.expose_secret()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Token has been expired or revoked.",
        );
    }
    let access_token = format!("ya29.local-{}", uuid::Uuid::new_v4().simple());
    {
        let mut record = google.record.lock().expect("not poisoned");
        record
            .access_tokens
            .insert(access_token.clone(), Instant::now() + config.access_token_lifetime);
        record.token_grants += 1;
    }
    Json(json!({
        "access_token": access_token,
        "expires_in": config.access_token_lifetime.as_secs(),
        "scope": "https://www.googleapis.com/auth/gmail.readonly",
        "token_type": "Bearer",
    }))
    .into_response()
}

async fn certs(State(google): State<Shared>) -> Response {
    let cache_control = format!("public, max-age={KEYS_MAX_AGE_SECONDS}, must-revalidate, no-transform");
    ([("cache-control", cache_control)], Json(&google.signing.jwks)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryQuery {
    start_history_id: Option<String>,
    label_id: Option<String>,
    page_token: Option<String>,
    max_results: Option<usize>,
}

async fn history(
    State(google): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HistoryQuery>,
) -> Response {
    if let Err(refused) = google.authorize(&headers, &user) {
        return refused;
    }
    let Some(start) = query.start_history_id.and_then(|s| s.parse::<u64>().ok()) else {
        return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid startHistoryId");
    };
    let (records, history_id) = {
        let mut record = google.record.lock().expect("not poisoned");
        if record.expire_history > 0 {
            record.expire_history -= 1;
            return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.");
        }
        let records: Vec<Value> = record
            .messages
            .iter()
            .filter(|m| m.history_id > start)
            .filter(|m| query.label_id.as_ref().is_none_or(|label| m.labels.contains(label)))
            .map(|m| {
                let listed = json!({ "id": m.id, "threadId": m.thread_id });
                json!({
                    "id": m.history_id.to_string(),
                    "messages": [listed],
                    "messagesAdded": [{ "message": { "id": m.id, "threadId": m.thread_id, "labelIds": m.labels } }],
                })
            })
            .collect();
        (records, record.history_id)
    };
    let size = query
        .max_results
        .unwrap_or(DEFAULT_PAGE)
        .min(MAX_PAGE)
        .min(google.config.history_page_size);
    let answer = json!({ "historyId": history_id.to_string() });
    paged(answer, "history", records, query.page_token.as_deref(), size)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    label_ids: Option<String>,
    page_token: Option<String>,
    max_results: Option<usize>,
}

async fn list_messages(
    State(google): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if let Err(refused) = google.authorize(&headers, &user) {
        return refused;
    }
    let listed: Vec<Value> = {
        let record = google.record.lock().expect("not poisoned");
        record
            .messages
            .iter()
            .rev()
            .filter(|m| query.label_ids.as_ref().is_none_or(|label| m.labels.contains(label)))
            .map(|m| json!({ "id": m.id, "threadId": m.thread_id }))
            .collect()
    };
    let total = listed.len();
    let size = query.max_results.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
    let answer = json!({ "resultSizeEstimate": total });
    paged(answer, "messages", listed, query.page_token.as_deref(), size)
}

#[derive(Deserialize)]
struct GetQuery {
    format: Option<String>,
}

async fn get_message(
    State(google): State<Shared>,
    Path((user, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<GetQuery>,
) -> Response {
    if let Err(refused) = google.authorize(&headers, &user) {
        return refused;
    }
    if query.format.as_deref() != Some("raw") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "The local stand-in serves format=raw only",
        );
    }
    let record = google.record.lock().expect("not poisoned");
    let Some(m) = record.messages.iter().find(|m| m.id == id) else {
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.");
    };
    Json(json!({
        "id": m.id,
        "threadId": m.thread_id,
        "labelIds": m.labels,
        "snippet": "",
        "sizeEstimate": m.raw.len(),
        "historyId": m.history_id.to_string(),
        "internalDate": m.received_at.timestamp_millis().to_string(),
        "raw": URL_SAFE.encode(&m.raw),
    }))
    .into_response()
}

async fn profile(State(google): State<Shared>, Path(user): Path<String>, headers: HeaderMap) -> Response {
    if let Err(refused) = google.authorize(&headers, &user) {
        return refused;
    }
    let record = google.record.lock().expect("not poisoned");
    let threads: HashSet<&str> = record.messages.iter().map(|m| m.thread_id.as_str()).collect();
    Json(json!({
        "emailAddress": google.config.mailbox,
        "messagesTotal": record.messages.len(),
        "threadsTotal": threads.len(),
        "historyId": record.history_id.to_string(),
    }))
    .into_response()
}

async fn watch(
    State(google): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
    Json(request): Json<WatchRequest>,
) -> Response {
    if let Err(refused) = google.authorize(&headers, &user) {
        return refused;
    }
    if request.topic_name.is_empty() {
        return google_error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "Invalid topicName");
    }
    let mut record = google.record.lock().expect("not poisoned");
    record.watches.push(request);
    let expiration = Utc::now() + chrono::Duration::days(WATCH_DAYS);
    Json(json!({
        "historyId": record.history_id.to_string(),
        "expiration": expiration.timestamp_millis().to_string(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct DeliverQuery {
    label: Option<String>,
}

async fn deliver(State(google): State<Shared>, Query(query): Query<DeliverQuery>, raw: Bytes) -> Response {
    if raw.is_empty() {
        return (StatusCode::BAD_REQUEST, "the body is the raw RFC 822 message").into_response();
    }
    let label = query.label.unwrap_or_else(|| "INBOX".into());
    Json(google.deliver(raw.to_vec(), &label).await).into_response()
}

/// The routes of the stand-in, at their full paths (under [`GOOGLE_STAND_IN_PATH`] and
/// [`GMAIL_STAND_IN_PATH`]).
pub fn router(google: Shared) -> Router {
    let users = "/gmail/v1/users/{user}";
    let api = Router::new()
        .route("/token", post(token))
        .route("/oauth2/v3/certs", get(certs))
        .route(&format!("{users}/history"), get(history))
        .route(&format!("{users}/messages"), get(list_messages))
        .route(&format!("{users}/messages/{{id}}"), get(get_message))
        .route(&format!("{users}/profile"), get(profile))
        .route(&format!("{users}/watch"), post(watch))
        .route(
            "/script",
            post(|State(google): State<Shared>, Json(script): Json<Script>| async move {
                google.script(script);
                StatusCode::NO_CONTENT
            }),
        );
    let mailbox = Router::new()
        .route(
            "/messages",
            post(deliver).layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
        )
        .route(
            "/pushes",
            get(|State(google): State<Shared>| async move { Json(google.pushes()) }),
        );
    Router::new()
        .nest(GOOGLE_STAND_IN_PATH, api)
        .nest(GMAIL_STAND_IN_PATH, mailbox)
        .with_state(google)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_are_unfolded_and_end_at_the_body() {
        let raw = b"Message-ID: <a@x.example>\r\nReferences: <r1@x.example>\r\n <r2@x.example>\r\nSubject: Hi\r\n\r\nIn-Reply-To: <not-a-header@x.example>\r\n";
        let fields = header_fields(raw);
        assert_eq!(
            fields,
            [
                ("Message-ID".into(), "<a@x.example>".into()),
                ("References".into(), "<r1@x.example> <r2@x.example>".into()),
                ("Subject".into(), "Hi".into()),
            ]
        );
        assert_eq!(
            message_ids(&fields[1].1).collect::<Vec<_>>(),
            ["r1@x.example", "r2@x.example"]
        );
    }
}
