//! A local stand-in for Amazon Bedrock's Converse API (moto has none).
//!
//! It speaks the restJson1 wire protocol the real SDK uses: `POST
//! /model/{modelId}/converse` with a JSON body, answered by a JSON body, or by an
//! error status with the `x-amzn-ErrorType` header the SDK reads the error code
//! from. Replies come from a script queued by the test, and every request body is
//! recorded so the test can assert what the adapter sent on the wire.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_bedrockruntime::config::{Credentials, Region};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum StubReply {
    /// A 200 with this Converse response body.
    Converse(Value),
    /// An error the way Bedrock sends it: status, `x-amzn-ErrorType`, `{"message"}`.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// The inner reply, after a pause (for timeouts).
    Delayed(Duration, Box<StubReply>),
}

impl StubReply {
    pub fn converse(content: Vec<Value>, stop_reason: &str) -> Self {
        StubReply::Converse(json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        }))
    }

    /// The same answer, with these token counts in its `usage` (Bedrock bills them).
    pub fn with_usage(self, input_tokens: u64, output_tokens: u64) -> Self {
        match self {
            StubReply::Converse(mut body) => {
                body["usage"] = json!({
                    "inputTokens": input_tokens,
                    "outputTokens": output_tokens,
                    "totalTokens": input_tokens + output_tokens,
                });
                StubReply::Converse(body)
            }
            other => other,
        }
    }

    pub fn tool_use(id: &str, name: &str, input: Value) -> Self {
        Self::converse(
            vec![json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})],
            "tool_use",
        )
    }

    pub fn text(text: &str) -> Self {
        Self::converse(vec![json!({ "text": text })], "end_turn")
    }

    pub fn error(status: u16, error_type: &str, message: &str) -> Self {
        StubReply::Error {
            status,
            error_type: error_type.to_owned(),
            message: message.to_owned(),
        }
    }

    pub fn throttling() -> Self {
        Self::error(429, "ThrottlingException", "Too many requests")
    }

    pub fn validation(message: &str) -> Self {
        Self::error(400, "ValidationException", message)
    }

    pub fn service_unavailable() -> Self {
        Self::error(503, "ServiceUnavailableException", "Service unavailable")
    }

    pub fn delayed(self, delay: Duration) -> Self {
        StubReply::Delayed(delay, Box::new(self))
    }
}

/// A request as the stub received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The model id from the path, percent-decoded.
    pub model_id: String,
    pub body: Value,
    /// Present when the SDK signed the request.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<StubReply>,
    requests: Vec<RecordedRequest>,
}

type Shared = Arc<Mutex<Script>>;

pub struct ConverseStub {
    url: String,
    script: Shared,
    server: JoinHandle<()>,
}

impl ConverseStub {
    pub async fn start() -> Self {
        let script = Shared::default();
        let app = Router::new()
            .route("/model/{model_id}/converse", post(converse))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the stub serves");
        });
        Self { url, script, server }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues replies, answered in order, one per request.
    pub fn push(&self, replies: impl IntoIterator<Item = StubReply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.script.lock().unwrap().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.script.lock().unwrap().requests.len()
    }

    /// A real Bedrock Runtime client pointed at the stub, with test credentials.
    /// Its SDK retry settings are left at the defaults on purpose: the adapter
    /// must turn them off itself.
    pub async fn client(&self) -> aws_sdk_bedrockruntime::Client {
        let sdk = support_aws::wiring::sdk_config_loader()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "stub"))
            .load()
            .await;
        let config = aws_sdk_bedrockruntime::config::Builder::from(&sdk)
            .endpoint_url(&self.url)
            .build();
        aws_sdk_bedrockruntime::Client::from_conf(config)
    }
}

impl Drop for ConverseStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn converse(
    State(script): State<Shared>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or_else(|e| json!({ "unparseable": e.to_string() }));
    let reply = {
        let mut script = script.lock().unwrap();
        script.requests.push(RecordedRequest {
            model_id,
            body,
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        script.replies.pop_front()
    };
    // An unscripted call is a test bug: a non-retryable error says so at once.
    let reply = reply.unwrap_or_else(|| StubReply::error(400, "StubScriptExhausted", "the stub has no reply queued"));
    answer(reply).await
}

async fn answer(mut reply: StubReply) -> Response {
    while let StubReply::Delayed(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        StubReply::Converse(body) => {
            (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
        }
        StubReply::Error {
            status,
            error_type,
            message,
        } => (
            StatusCode::from_u16(status).expect("a valid status"),
            [
                ("content-type", "application/json".to_owned()),
                ("x-amzn-ErrorType", error_type),
            ],
            json!({ "message": message }).to_string(),
        )
            .into_response(),
        StubReply::Delayed(..) => unreachable!("unwrapped above"),
    }
}
