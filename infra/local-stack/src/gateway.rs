//! The HTTP API on 127.0.0.1: the template's `HttpApi` routes go to their functions as the
//! API Gateway v2 (payload 2.0) event Lambda would receive; `/health` answers locally;
//! anything else is served from the web form's `dist/` when it exists, or is a 404.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;

use crate::functions::HttpFunction;
use crate::template::CorsSpec;

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;
/// API Gateway HTTP APIs stop waiting for an integration after 30 s.
const MAX_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    /// `{name+}`: the rest of the path.
    Greedy(String),
}

/// One `HttpApi` event: `METHOD /path/{param}` → function.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
    pub api: Option<String>,
    segments: Vec<Segment>,
}

impl Route {
    pub fn new(method: &str, path: &str, function: &str, api: Option<String>) -> Self {
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_owned()),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal(s.to_owned()),
            })
            .collect();
        Route {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function: function.to_owned(),
            api,
            segments,
        }
    }

    /// The route key API Gateway puts in the event.
    pub fn key(&self) -> String {
        if self.path == "$default" {
            "$default".into()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }

    fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        if self.path == "$default" {
            return Some(BTreeMap::new());
        }
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut params = BTreeMap::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Greedy(name) => {
                    if i >= parts.len() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&parts[i..].join("/")));
                    return Some(params);
                }
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let part = parts.get(i)?;
                    params.insert(name.clone(), percent_decode(part));
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// API Gateway prefers the most specific route: more literal segments, no greedy
    /// segment, a method over ANY; `$default` last.
    fn specificity(&self) -> (bool, usize, bool, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let greedy = self.segments.iter().any(|s| matches!(s, Segment::Greedy(_)));
        (self.path != "$default", literals, !greedy, self.method != "ANY")
    }
}

/// The route for a request and its path parameters.
pub fn match_route<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<(&'a Route, BTreeMap<String, String>)> {
    routes
        .iter()
        .filter(|r| r.method == "ANY" || r.method.eq_ignore_ascii_case(method))
        .filter_map(|r| r.matches(path).map(|p| (r, p)))
        .max_by_key(|(r, _)| r.specificity())
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct GatewayFunction {
    pub handler: Option<Arc<dyn HttpFunction>>,
    pub timeout: Duration,
}

pub struct GatewayState {
    pub routes: Vec<Route>,
    pub functions: BTreeMap<String, GatewayFunction>,
    /// CORS configuration by API logical id.
    pub cors: BTreeMap<String, CorsSpec>,
    pub static_dir: Option<PathBuf>,
    /// Extra fields of the `/health` answer.
    pub health: serde_json::Value,
}

pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// API Gateway's own error bodies.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "message": message }))
}

async fn dispatch(
    State(state): State<Arc<GatewayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    if path == "/health" && (method == Method::GET || method == Method::HEAD) {
        let mut body = json!({ "status": "ok" });
        if let (Some(b), Some(extra)) = (body.as_object_mut(), state.health.as_object()) {
            b.extend(extra.clone());
        }
        return json_response(StatusCode::OK, body);
    }
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let matched = match_route(&state.routes, method.as_str(), &path);
    // API Gateway answers CORS preflights itself when CORS is configured.
    if method == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        if let Some(cors) = state.cors.values().next() {
            return preflight(cors, origin.as_deref(), request.headers());
        }
    }
    let Some((route, params)) = matched else {
        if method == Method::GET || method == Method::HEAD {
            if let Some(dir) = &state.static_dir {
                if let Some(r) = serve_static(dir, &path, request.headers(), method == Method::HEAD).await {
                    return r;
                }
            }
        }
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let route = route.clone();
    let cors = route.api.as_ref().and_then(|a| state.cors.get(a)).cloned();
    let mut response = invoke(&state, &route, params, peer, request).await;
    if let Some(cors) = cors {
        add_cors_headers(&cors, origin.as_deref(), response.headers_mut());
    }
    response
}

async fn invoke(
    state: &GatewayState,
    route: &Route,
    params: BTreeMap<String, String>,
    peer: SocketAddr,
    request: axum::extract::Request,
) -> Response {
    let Some(function) = state.functions.get(&route.function) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let Some(handler) = function.handler.clone() else {
        tracing::error!(function = %route.function, "no handler for this function");
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let lambda_request = match lambda_request(&parts, &body, route, params, peer) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the API Gateway event");
            return gateway_error(StatusCode::BAD_REQUEST, "Bad Request");
        }
    };
    let started = Instant::now();
    let task = tokio::spawn(async move { handler.call(lambda_request).await });
    let abort = task.abort_handle();
    let limit = function.timeout.min(MAX_INTEGRATION_TIMEOUT);
    let response = match tokio::time::timeout(limit, task).await {
        Ok(Ok(r)) => to_axum(r),
        Ok(Err(join)) => {
            let why = if join.is_panic() {
                crate::poller::panic_message(join.into_panic())
            } else {
                join.to_string()
            };
            tracing::error!(function = %route.function, error = %why, "invocation panicked");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        Err(_) => {
            abort.abort();
            tracing::error!(function = %route.function, timeout = ?limit, "invocation timed out");
            gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
    };
    tracing::info!(
        function = %route.function,
        route = %route.key(),
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "invocation"
    );
    response
}

/// Content types API Gateway passes as text; anything else arrives base64-encoded
/// (`isBase64Encoded`), i.e. as `Body::Binary`.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime.starts_with("text/")
        || mime == "application/json"
        || mime == "application/javascript"
        || mime == "application/xml"
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
}

/// The request as the function receives it in Lambda: built from the same API Gateway
/// v2 event JSON, through lambda_http's own conversion.
pub fn lambda_request(
    parts: &http::request::Parts,
    body: &[u8],
    route: &Route,
    params: BTreeMap<String, String>,
    peer: SocketAddr,
) -> Result<lambda_http::Request, serde_json::Error> {
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()));
            continue;
        }
        // API Gateway joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(serde_json::Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), value.into());
            }
        }
    }
    headers
        .entry("x-forwarded-for")
        .or_insert_with(|| peer.ip().to_string().into());
    headers.entry("x-forwarded-proto").or_insert_with(|| "http".into());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let now = chrono::Utc::now();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let text_body = (!body.is_empty() && is_text(content_type))
        .then(|| std::str::from_utf8(body).ok())
        .flatten();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": crate::template::LOCAL_ACCOUNT_ID,
            "apiId": route.api.as_deref().unwrap_or("local"),
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or_default(),
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": format!("{:?}", parts.version),
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route.key(),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": !body.is_empty() && text_body.is_none(),
    });
    if !params.is_empty() {
        event["pathParameters"] = json!(params);
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if let Some(text) = text_body {
        event["body"] = json!(text);
    }
    let event: aws_lambda_events::apigw::ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    let mut request: lambda_http::Request = lambda_http::request::LambdaRequest::ApiGatewayV2(event).into();
    if text_body.is_none() && !body.is_empty() {
        // What lambda_http decodes from a base64 body.
        *request.body_mut() = lambda_http::Body::Binary(body.to_vec());
    }
    Ok(request)
}

fn to_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = body.as_ref().to_vec();
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn origin_allowed(cors: &CorsSpec, origin: &str) -> bool {
    cors.allow_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
}

fn allow_origin_value(cors: &CorsSpec, origin: &str) -> String {
    if cors.allow_origins.iter().any(|o| o == "*") && !cors.allow_credentials {
        "*".into()
    } else {
        origin.to_owned()
    }
}

fn preflight(cors: &CorsSpec, origin: Option<&str>, request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let Some(origin) = origin.filter(|o| origin_allowed(cors, o)) else {
        return response;
    };
    let requested = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !cors
        .allow_methods
        .iter()
        .any(|m| m == "*" || m.eq_ignore_ascii_case(requested))
    {
        return response;
    }
    let h = response.headers_mut();
    let mut set = |name: http::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin_value(cors, origin));
    set(header::ACCESS_CONTROL_ALLOW_METHODS, cors.allow_methods.join(","));
    if !cors.allow_headers.is_empty() {
        set(header::ACCESS_CONTROL_ALLOW_HEADERS, cors.allow_headers.join(","));
    }
    if let Some(age) = cors.max_age {
        set(header::ACCESS_CONTROL_MAX_AGE, age.to_string());
    }
    if cors.allow_credentials {
        set(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true".into());
    }
    response
}

fn add_cors_headers(cors: &CorsSpec, origin: Option<&str>, headers: &mut HeaderMap) {
    let Some(origin) = origin.filter(|o| origin_allowed(cors, o)) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&allow_origin_value(cors, origin)) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    if !cors.expose_headers.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&cors.expose_headers.join(",")) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }
    if cors.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

fn content_type_for(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// A file of `dir` for a URL path; `/` and unknown extension-less paths (client-side
/// routes) get index.html. Paths that climb out of `dir` are refused.
async fn serve_static(dir: &Path, url_path: &str, headers: &HeaderMap, head: bool) -> Option<Response> {
    let decoded = percent_decode(url_path);
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) || decoded.contains('\0') {
        return None;
    }
    let mut file = dir.join(relative);
    if decoded.ends_with('/') || decoded.is_empty() || file.is_dir() {
        file = file.join("index.html");
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !file.is_file() && relative.extension().is_none() && wants_html {
        file = dir.join("index.html");
    }
    let bytes = tokio::fs::read(&file).await.ok()?;
    let len = bytes.len();
    let body = if head {
        axum::body::Body::empty()
    } else {
        axum::body::Body::from(bytes)
    };
    Some(
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type_for(&file))
            .header(header::CONTENT_LENGTH, len)
            // Local development: always revalidate, so a rebuilt form shows at once.
            .header(header::CACHE_CONTROL, "no-cache")
            .body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{EventSpec, StackTemplate};

    fn template_routes() -> Vec<Route> {
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        t.http_events()
            .into_iter()
            .map(|(f, e)| match e {
                EventSpec::HttpApi { method, path, api, .. } => Route::new(method, path, &f.logical_id, api.clone()),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn template_routes_match_like_api_gateway() {
        let routes = template_routes();
        let (r, p) = match_route(&routes, "POST", "/support/submit").unwrap();
        assert_eq!(
            (r.function.as_str(), r.key().as_str()),
            ("WebformApiFunction", "POST /support/submit")
        );
        assert!(p.is_empty());
        let (r, p) = match_route(&routes, "GET", "/support/ticket/tkt_abc").unwrap();
        assert_eq!(r.key(), "GET /support/ticket/{id}");
        assert_eq!(p["id"], "tkt_abc");
        assert!(
            match_route(&routes, "GET", "/support/submit").is_none(),
            "method must match"
        );
        assert!(
            match_route(&routes, "GET", "/support/ticket/a/b").is_none(),
            "one segment per parameter"
        );
        assert!(match_route(&routes, "GET", "/support/ticket/").is_none());
        assert!(match_route(&routes, "GET", "/").is_none());
    }

    #[test]
    fn most_specific_route_wins() {
        let routes = vec![
            Route::new("ANY", "$default", "Default", None),
            Route::new("ANY", "/a/{proxy+}", "Greedy", None),
            Route::new("GET", "/a/{x}", "Param", None),
            Route::new("GET", "/a/b", "Literal", None),
        ];
        let f = |m: &str, p: &str| match_route(&routes, m, p).map(|(r, params)| (r.function.clone(), params));
        assert_eq!(f("GET", "/a/b").unwrap().0, "Literal");
        assert_eq!(f("GET", "/a/c").unwrap().0, "Param");
        assert_eq!(f("POST", "/a/c").unwrap().0, "Greedy");
        let (name, params) = f("GET", "/a/b/c%20d").unwrap();
        assert_eq!((name.as_str(), params["proxy"].as_str()), ("Greedy", "b/c d"));
        assert_eq!(f("DELETE", "/zzz").unwrap().0, "Default");
    }

    #[test]
    fn requests_become_the_api_gateway_v2_event() {
        use lambda_http::RequestExt;
        let routes = template_routes();
        let (route, params) = match_route(&routes, "GET", "/support/ticket/tkt_1").unwrap();
        let req = http::Request::builder()
            .method("GET")
            .uri("/support/ticket/tkt_1?lang=en&x=1")
            .header("host", "127.0.0.1:3000")
            .header("cookie", "a=1; b=2")
            .header("x-multi", "1")
            .header("x-multi", "2")
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let r = lambda_request(&parts, b"", route, params, peer).unwrap();
        assert_eq!(r.method(), "GET");
        assert_eq!(r.uri().path(), "/support/ticket/tkt_1");
        assert_eq!(r.uri().query(), Some("lang=en&x=1"));
        assert_eq!(r.path_parameters().first("id"), Some("tkt_1"));
        assert_eq!(r.query_string_parameters().first("lang"), Some("en"));
        assert_eq!(r.headers()["x-multi"], "1,2");
        assert_eq!(r.headers()["cookie"], "a=1; b=2");
        assert_eq!(r.headers()["x-forwarded-for"], "127.0.0.1");
        assert!(matches!(r.body(), lambda_http::Body::Empty));
        match r.request_context() {
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => {
                assert_eq!(ctx.route_key.as_deref(), Some("GET /support/ticket/{id}"));
                assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.1"));
            }
            _ => panic!("not an API Gateway v2 context"),
        }

        let (route, params) = match_route(&routes, "POST", "/support/submit").unwrap();
        let post = |ct: &str, body: &[u8]| {
            let (parts, _) = http::Request::builder()
                .method("POST")
                .uri("/support/submit")
                .header("content-type", ct)
                .body(())
                .unwrap()
                .into_parts();
            lambda_request(&parts, body, route, params.clone(), peer).unwrap()
        };
        assert!(
            matches!(post("application/json", b"{\"a\":1}").body(), lambda_http::Body::Text(t) if t == "{\"a\":1}")
        );
        assert!(
            matches!(post("application/x-www-form-urlencoded", b"a=1").body(), lambda_http::Body::Binary(b) if b == b"a=1")
        );
        assert!(
            matches!(post("application/octet-stream", &[0xff, 0]).body(), lambda_http::Body::Binary(b) if b == &[0xff, 0])
        );
    }

    #[test]
    fn the_sample_events_are_what_the_gateway_builds() {
        // The checked-in events must deserialize as lambda_http requests, like the gateway's.
        for (file, method, path) in [
            ("webform-submit.json", "POST", "/support/submit"),
            (
                "webform-ticket-status.json",
                "GET",
                "/support/ticket/tkt_0123456789abcdef0123456789abcdef",
            ),
        ] {
            let text =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(file)).unwrap();
            let event: aws_lambda_events::apigw::ApiGatewayV2httpRequest = serde_json::from_str(&text).unwrap();
            let r: lambda_http::Request = lambda_http::request::LambdaRequest::ApiGatewayV2(event).into();
            assert_eq!((r.method().as_str(), r.uri().path()), (method, path), "{file}");
        }
    }

    #[test]
    fn cors_follows_the_configuration() {
        let cors = CorsSpec {
            allow_origins: vec!["https://a.example".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["content-type".into()],
            max_age: Some(600),
            ..Default::default()
        };
        let mut h = HeaderMap::new();
        h.insert(header::ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("POST"));
        let ok = preflight(&cors, Some("https://a.example"), &h);
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(ok.headers()[header::ACCESS_CONTROL_MAX_AGE], "600");
        let denied = preflight(&cors, Some("https://evil.example"), &h);
        assert!(!denied.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));

        let star = CorsSpec {
            allow_origins: vec!["*".into()],
            ..cors
        };
        let mut headers = HeaderMap::new();
        add_cors_headers(&star, Some("https://x.example"), &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let mut none = HeaderMap::new();
        add_cors_headers(&star, None, &mut none);
        assert!(none.is_empty(), "no Origin, no CORS headers");
    }

    #[tokio::test]
    async fn static_files_never_leave_the_folder() {
        let dir = std::env::temp_dir().join(format!("local-stack-static-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>form</html>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        let html = {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
            h
        };
        let none = HeaderMap::new();
        let r = serve_static(&dir, "/", &none, false).await.unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let r = serve_static(&dir, "/assets/app.js", &none, false).await.unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(serve_static(&dir, "/../Cargo.toml", &none, false).await.is_none());
        assert!(serve_static(&dir, "/%2e%2e/Cargo.toml", &none, false).await.is_none());
        assert!(serve_static(&dir, "/missing.js", &html, false).await.is_none());
        assert!(
            serve_static(&dir, "/ticket/abc", &html, false).await.is_some(),
            "client-side route"
        );
        assert!(serve_static(&dir, "/ticket/abc", &none, false).await.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%41"), "A");
    }
}
