//! Every call that reaches the AWS endpoint, counted: a pass-through HTTP proxy in front of
//! moto that notes each request's service and operation (from `X-Amz-Target` for the JSON
//! protocols of DynamoDB and SQS, from the REST path for SES v2).

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::net::TcpListener;

/// What Lambda's SQS event source does on its own: not the functions' calls.
pub const EVENT_SOURCE_OPERATIONS: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
];

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    calls: Arc<Mutex<Vec<String>>>,
}

pub struct CallCounter {
    url: String,
    calls: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

/// `dynamodb:GetItem`, `sqs:SendMessage`, `sesv2:SendEmail`; `None` for moto's own API.
fn operation(request: &Request) -> Option<String> {
    if let Some(target) = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.')?;
        let service = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else if service.starts_with("AmazonSQS") {
            "sqs"
        } else {
            service
        };
        return Some(format!("{service}:{op}"));
    }
    let path = request.uri().path();
    if path.starts_with("/moto-api") {
        return None;
    }
    if path.starts_with("/v2/email/outbound-emails") {
        return Some("sesv2:SendEmail".into());
    }
    Some(format!("{} {path}", request.method()))
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    if let Some(op) = operation(&request) {
        proxy.calls.lock().expect("not poisoned").push(op);
    }
    let (parts, body) = request.into_parts();
    let url = format!(
        "{}{}",
        proxy.upstream,
        parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut upstream = proxy.client.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            response.body(Body::from(bytes)).expect("a valid response")
        }
        Err(e) => Response::builder()
            .status(502)
            .body(Body::from(e.to_string()))
            .expect("a valid response"),
    }
}

impl CallCounter {
    pub async fn start(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the call counter")?;
        let url = format!("http://{}", listener.local_addr()?);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            calls: calls.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, calls, task })
    }

    /// The endpoint to give the SDK instead of moto's.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call so far, in order, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().expect("not poisoned"))
    }
}

impl Drop for CallCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}
