//! The operator HTTP API (docs/operator-api.md), called with the operator's own token: the
//! assistant can do exactly what the operator could do in the console, under the same rules.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a call to the operator API produced no answer the assistant can use.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error status; `message` is its `error` (or `message`) text.
    #[error("the operator API answered {status}: {message}{hint}", hint = hint(.status))]
    Refused { status: StatusCode, message: String },
    #[error("the operator API at {base} could not be reached: {reason}")]
    Unreachable { base: String, reason: String },
    #[error("the operator API answered {status} with a body this server does not understand: {reason}")]
    Unexpected { status: StatusCode, reason: String },
    /// An id that would change the route it is put in (empty, `.` or `..`).
    #[error("{0:?} is not a valid id")]
    InvalidId(String),
}

/// What the operator can do about an authentication failure: the assistant relays it.
fn hint(status: &StatusCode) -> &'static str {
    match *status {
        StatusCode::UNAUTHORIZED => {
            " (the token in SUPPORT_OPERATOR_TOKEN is missing, expired or not from the operator user pool: sign in again and restart the MCP server with the new token)"
        }
        _ => "",
    }
}

pub struct OperatorApi {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// Long enough for a knowledge search on a cold Lambda; short enough that an assistant is
/// not left waiting on a dead connection.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an unexpected error body repeated to the assistant.
const MAX_ERROR_TEXT: usize = 500;

impl OperatorApi {
    pub fn new(base: Url, token: String) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("support-mcp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base, token })
    }

    /// `GET /operator/<path…>?<query>`.
    pub async fn get<T: DeserializeOwned>(&self, path: &[&str], query: &impl Serialize) -> Result<T, ApiError> {
        let request = self.request(Method::GET, path)?.query(query);
        self.send(request).await
    }

    /// `POST /operator/<path…>` with a JSON body, and the `Idempotency-Key` every write takes.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &[&str],
        body: &impl Serialize,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let mut request = self.request(Method::POST, path)?.json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    fn request(&self, method: Method, path: &[&str]) -> Result<reqwest::RequestBuilder, ApiError> {
        // The url crate drops "." and ".." segments, so such an id would name another route.
        if let Some(bad) = path.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(ApiError::InvalidId((*bad).to_owned()));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to be http(s) when configured")
            .pop_if_empty()
            .push("operator")
            .extend(path);
        Ok(self.http.request(method, url).bearer_auth(&self.token))
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let unreachable = |e: reqwest::Error| ApiError::Unreachable {
            base: self.base.to_string(),
            reason: error_chain(&e),
        };
        let request = request.build().map_err(unreachable)?;
        let (method, path) = (request.method().clone(), request.url().path().to_owned());
        let response = self.http.execute(request).await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        // The path, not the query: a knowledge query holds a customer's words.
        tracing::info!(%method, path, %status, "operator API answered");
        if !status.is_success() {
            return Err(ApiError::Refused {
                status,
                message: error_message(&bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Unexpected {
            status,
            reason: e.to_string(),
        })
    }
}

/// The API's `{"error": …}` (its own errors) or `{"message": …}` (the gateway's), else the
/// start of the body as text.
fn error_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name| json.as_ref()?.get(name)?.as_str().map(str::to_owned);
    field("error").or_else(|| field("message")).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            "(no message)".to_owned()
        } else {
            text.chars().take(MAX_ERROR_TEXT).collect()
        }
    })
}

/// reqwest's own message ("error sending request") hides the cause (connection refused,
/// DNS, TLS): the assistant and the operator need the cause.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_text_is_the_apis_error_then_the_gateways_message_then_the_body() {
        assert_eq!(
            error_message(br#"{"error":"the ticket is resolved"}"#),
            "the ticket is resolved"
        );
        assert_eq!(error_message(br#"{"message":"Unauthorized"}"#), "Unauthorized");
        assert_eq!(error_message(b"Bad Gateway\n"), "Bad Gateway");
        assert_eq!(error_message(b""), "(no message)");
    }

    #[test]
    fn ids_go_into_the_path_encoded_and_dot_segments_are_refused() {
        let api = OperatorApi::new(Url::parse("https://api.example/prod/").unwrap(), "t".into()).unwrap();
        let request = api
            .request(Method::GET, &["tickets", "TB-1/x?y"])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "https://api.example/prod/operator/tickets/TB-1%2Fx%3Fy"
        );
        assert_eq!(request.headers()["authorization"], "Bearer t");
        assert!(matches!(
            api.request(Method::GET, &["tickets", ".."]),
            Err(ApiError::InvalidId(_))
        ));
    }
}
