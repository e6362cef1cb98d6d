//! What the HTTP functions share: the route key API Gateway matched, the body as bytes, and
//! JSON answers.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use support_core::ports::InfraError;
use support_core::telemetry;

/// The template's route key API Gateway matched (`POST /support/submit`), or empty.
pub fn route_key(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.route_key.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// The request body as bytes: API Gateway's base64 (binary) bodies arrive decoded.
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The media type of the request (`application/json`), lower case, without parameters.
pub fn media_type(request: &Request) -> String {
    request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A header value in a safe format (it reaches logs and keys), or `None`.
pub fn safe_header<'a>(request: &'a Request, name: &str, min: usize, max: usize) -> Option<Result<&'a str, ()>> {
    let value = request.headers().get(name)?;
    Some(
        value
            .to_str()
            .ok()
            .filter(|v| (min..=max).contains(&v.len()))
            .filter(|v| {
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
            })
            .ok_or(()),
    )
}

/// What a client is told about an Idempotency-Key that breaks the rule.
pub const IDEMPOTENCY_KEY_RULE: &str = "Idempotency-Key must be 8 to 128 letters, digits, - or _";

/// The request's Idempotency-Key (the same key again is the same request): `None` without
/// one, an error for one that breaks [`IDEMPOTENCY_KEY_RULE`].
pub fn idempotency_key(request: &Request) -> Option<Result<&str, ()>> {
    safe_header(request, "idempotency-key", 8, 128).map(|key| {
        key.and_then(|k| match k.contains([':', '.']) {
            true => Err(()),
            false => Ok(k),
        })
    })
}

/// A function's answer, counted as an error when it is a server error.
pub fn counted(response: Response<Body>) -> Response<Body> {
    if response.status().is_server_error() {
        telemetry::error();
    }
    response
}

pub fn json_response(status: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .expect("status and headers are valid")
}

/// A page for people (who followed a link), of our own sentences only.
pub fn page(status: u16, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Tandem Support</title><p>{text}</p></html>"
        )))
        .expect("status and headers are valid")
}

/// A refusal: a 4xx (or 5xx) with a stable code and a message for people.
pub fn error(status: u16, code: &str, message: &str) -> Response<Body> {
    json_response(status, json!({ "error": code, "message": message }))
}

pub fn unavailable(e: &InfraError, message: &str) -> Response<Body> {
    tracing::error!(error = %e, "infrastructure failure");
    error(503, "unavailable", message)
}
