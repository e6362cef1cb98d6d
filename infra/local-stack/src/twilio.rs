//! A local stand-in for Twilio's Messages API, served under `/local/twilio/`:
//!
//! - `POST /local/twilio/2010-04-01/Accounts/{AccountSid}/Messages.json` (basic auth with
//!   the account SID and auth token, form body `To`, `From`, `Body`, `StatusCallback`)
//!   accepts a message the way Twilio does (201 with its SID, status `queued`), then posts
//!   signed status callbacks to its `StatusCallback`: `sent`, then `delivered`;
//! - `GET` on the same path lists the account's messages, newest first (`To`, `From`,
//!   `PageSize` filters), as the sender's retries read them;
//! - `GET /local/twilio/messages` lists what it was asked to send: JSON with sid, to, from,
//!   body, created time and status;
//! - `POST /local/twilio/script` makes it answer like Twilio in trouble (JSON): `send`, the
//!   answers to the next create requests in order (`{"status": 429}`, `{"status": 500}`,
//!   `{"status": 400, "code": 63016}`: none of them creates a message), and `outcome`, the
//!   last callback of the next accepted message (`{"status": "undelivered", "code": 30008}`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use support_aws::twilio::signature::RequestValidator;

/// The account SID the local stack's functions use unless the environment sets one.
pub const LOCAL_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// The development auth token (`TWILIO_AUTH_TOKEN` overrides it): it signs the stand-in's
/// callbacks and is what the local webhook verifies.
pub const LOCAL_AUTH_TOKEN: &str = "local-development-twilio-auth-token";
/// How long the stand-in waits before each status callback.
const CALLBACK_DELAY: Duration = Duration::from_millis(100);

/// A message the stand-in accepted.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessage {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
    #[serde(skip)]
    status_callback: Option<String>,
}

/// An answer to a create request, scripted.
#[derive(Debug, Clone, Deserialize)]
pub struct ScriptedFailure {
    pub status: u16,
    #[serde(default)]
    pub code: Option<u32>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The last callback of a message, scripted.
#[derive(Debug, Clone, Deserialize)]
pub struct ScriptedOutcome {
    pub status: String,
    #[serde(default)]
    pub code: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Script {
    #[serde(default)]
    pub send: Vec<ScriptedFailure>,
    #[serde(default)]
    pub outcome: Option<ScriptedOutcome>,
}

#[derive(Default)]
struct Record {
    messages: Vec<SentMessage>,
    failures: VecDeque<ScriptedFailure>,
    outcomes: VecDeque<ScriptedOutcome>,
}

/// The stand-in's state: what it accepted and what it was told to do.
pub struct TwilioStandIn {
    account_sid: String,
    auth_token: SecretString,
    record: Mutex<Record>,
    http: reqwest::Client,
}

impl TwilioStandIn {
    pub fn new(account_sid: String, auth_token: SecretString) -> Arc<Self> {
        Arc::new(Self {
            account_sid,
            auth_token,
            record: Mutex::new(Record::default()),
            http: reqwest::Client::new(),
        })
    }

    /// Everything it accepted, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.record.lock().expect("not poisoned").messages.clone()
    }

    pub fn script(&self, script: Script) {
        let mut record = self.record.lock().expect("not poisoned");
        record.failures.extend(script.send);
        record.outcomes.extend(script.outcome);
    }

    /// Twilio's answer to a request not authenticated as this account (basic auth), if so.
    #[allow(clippy::result_large_err)] // the refusal is the response itself
    fn authenticate(&self, account: &str, headers: &HeaderMap) -> Result<(), Response> {
        let expected = format!("{}:{}", self.account_sid, self.auth_token.expose_secret());
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok());
        match account == self.account_sid && given.as_deref() == Some(expected.as_bytes()) {
            true => Ok(()),
            false => Err(twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")),
        }
    }

    /// Posts the message's callbacks as Twilio does, signed with the auth token.
    async fn report(self: Arc<Self>, sid: String, outcome: ScriptedOutcome) {
        let Some(message) = self.messages().into_iter().find(|m| m.sid == sid) else {
            return;
        };
        let Some(url) = message.status_callback.clone() else {
            return;
        };
        let sent = ScriptedOutcome {
            status: "sent".into(),
            code: None,
        };
        for step in [sent, outcome] {
            tokio::time::sleep(CALLBACK_DELAY).await;
            self.set_status(&sid, &step.status);
            let mut params = vec![
                ("AccountSid".to_owned(), self.account_sid.clone()),
                ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                ("From".to_owned(), message.from.clone()),
                ("MessageSid".to_owned(), sid.clone()),
                ("MessageStatus".to_owned(), step.status.clone()),
                ("SmsSid".to_owned(), sid.clone()),
                ("SmsStatus".to_owned(), step.status.clone()),
                ("To".to_owned(), message.to.clone()),
            ];
            if let Some(code) = step.code {
                params.push(("ErrorCode".to_owned(), code.to_string()));
            }
            let signature = RequestValidator::new(self.auth_token.clone()).signature(&url, &params);
            let posted = self
                .http
                .post(&url)
                .header("x-twilio-signature", signature)
                .header("i-twilio-idempotency-token", uuid::Uuid::new_v4().to_string())
                .form(&params)
                .send()
                .await;
            match posted {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(%sid, status = %r.status(), "the status callback was refused"),
                Err(e) => tracing::warn!(%sid, error = %e, "the status callback failed"),
            }
        }
    }

    fn set_status(&self, sid: &str, status: &str) {
        let mut record = self.record.lock().expect("not poisoned");
        if let Some(m) = record.messages.iter_mut().find(|m| m.sid == sid) {
            status.clone_into(&mut m.status);
        }
    }
}

/// The message as Twilio's API shows it.
fn resource(m: &SentMessage) -> serde_json::Value {
    json!({
        "sid": m.sid,
        "to": m.to,
        "from": m.from,
        "body": m.body,
        "status": m.status,
        "date_created": m.created_at.to_rfc2822(),
        "direction": "outbound-api",
        "num_segments": "1",
        "error_code": null,
    })
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({ "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16() });
    (status, Json(body)).into_response()
}

type Shared = Arc<TwilioStandIn>;

#[derive(Deserialize)]
struct CreateMessage {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Body", default)]
    body: String,
    #[serde(rename = "StatusCallback", default)]
    status_callback: Option<String>,
}

#[derive(Deserialize)]
struct ListMessages {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    #[serde(rename = "PageSize")]
    page_size: Option<usize>,
}

async fn create(
    State(twilio): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(request): Form<CreateMessage>,
) -> Response {
    if let Err(refused) = twilio.authenticate(&account, &headers) {
        return refused;
    }
    let scripted = twilio.record.lock().expect("not poisoned").failures.pop_front();
    if let Some(failure) = scripted {
        let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = failure.code.unwrap_or(u32::from(failure.status));
        let message = failure.message.unwrap_or_else(|| "scripted failure".into());
        let mut response = twilio_error(status, code, &message);
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", "1".parse().expect("valid header"));
        }
        return response;
    }
    let message = SentMessage {
        sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
        to: request.to,
        from: request.from,
        body: request.body,
        created_at: Utc::now(),
        status: "queued".into(),
        status_callback: request.status_callback,
    };
    let outcome = {
        let mut record = twilio.record.lock().expect("not poisoned");
        record.messages.push(message.clone());
        record.outcomes.pop_front().unwrap_or(ScriptedOutcome {
            status: "delivered".into(),
            code: None,
        })
    };
    tokio::spawn(twilio.clone().report(message.sid.clone(), outcome));
    (StatusCode::CREATED, Json(resource(&message))).into_response()
}

async fn list(
    State(twilio): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Query(filter): Query<ListMessages>,
) -> Response {
    if let Err(refused) = twilio.authenticate(&account, &headers) {
        return refused;
    }
    let mut messages: Vec<serde_json::Value> = twilio
        .messages()
        .iter()
        .rev()
        .filter(|m| filter.to.as_ref().is_none_or(|to| &m.to == to))
        .filter(|m| filter.from.as_ref().is_none_or(|from| &m.from == from))
        .map(resource)
        .collect();
    messages.truncate(filter.page_size.unwrap_or(50));
    Json(json!({ "messages": messages, "page": 0, "next_page_uri": null })).into_response()
}

/// The routes of the stand-in, to be nested under `/local/twilio`.
pub fn router(twilio: Shared) -> Router {
    Router::new()
        .route("/2010-04-01/Accounts/{account}/Messages.json", post(create).get(list))
        .route(
            "/messages",
            get(|State(twilio): State<Shared>| async move { Json(twilio.messages()) }),
        )
        .route(
            "/script",
            post(|State(twilio): State<Shared>, Json(script): Json<Script>| async move {
                twilio.script(script);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(twilio)
}
