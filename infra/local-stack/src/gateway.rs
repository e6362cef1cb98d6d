//! The HTTP API on 127.0.0.1, served from the template's `HttpApi` events as API Gateway
//! (HTTP API, payload format 2.0) serves them:
//!
//! - routing is axum's. API Gateway picks the most specific route that takes the request's
//!   method, so each method has its `Router`, holding the routes of that method and the `ANY`
//!   routes of paths it has none for, whose fallback is a second router with the greedy
//!   routes (a full match beats a greedy one). Within a router, matchit's precedence
//!   (literal segment before `{param}`) is API Gateway's. `{proxy+}` is axum's `{*proxy}`,
//!   and `$default` takes what no route does;
//! - a route's function gets the API Gateway v2 event Lambda would, built through
//!   lambda_http's own conversion, with the route's `routeKey` and `pathParameters`;
//! - an API's `CorsConfiguration` is a tower-http `CorsLayer` on its routes: it answers
//!   preflights (204, as API Gateway does), and only configured origins get CORS headers;
//! - `/health` answers locally, and GET/HEAD requests no route takes are served from the
//!   web form's `dist/` (tower-http `ServeDir`; a browser navigation to a client-side route
//!   gets index.html);
//! - a route whose event names a JWT authorizer gets its token checked first
//!   ([`crate::authorizer`]): 401 without calling the function, else the claims in the
//!   event's `requestContext.authorizer.jwt`;
//! - a request body must arrive within `body_timeout`, and every error the gateway answers
//!   itself has API Gateway's JSON body, `{"message": "..."}`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::Router;
use http::{header, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::json;
use tower::ServiceExt;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::authorizer::{Authorized, JwtAuthorizer, Refused};
use crate::functions::HttpFunction;
use crate::template::CorsSpec;

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;
/// API Gateway HTTP APIs stop waiting for an integration after 30 s.
const MAX_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request body may take to arrive, unless configured.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// One `HttpApi` event: `METHOD /path/{param}` → function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper case; `ANY` for any method.
    pub method: String,
    /// API Gateway's syntax: `/a/{param}`, `/a/{proxy+}`, or `$default`.
    pub path: String,
    pub function: String,
    pub api: Option<String>,
    /// The API's authorizer that checks the route's requests; `None` for a public route.
    pub auth: Option<RouteAuth>,
}

/// A route's `Auth`: which authorizer of its API, and the scopes a token must hold one of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAuth {
    pub authorizer: String,
    pub scopes: Vec<String>,
}

impl Route {
    pub fn new(method: &str, path: &str, function: &str, api: Option<String>) -> Self {
        Route {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function: function.to_owned(),
            api,
            auth: None,
        }
    }

    /// The route behind one of its API's authorizers.
    pub fn with_auth(mut self, auth: Option<RouteAuth>) -> Self {
        self.auth = auth;
        self
    }

    /// The route key API Gateway puts in the event.
    pub fn key(&self) -> String {
        if self.path == "$default" {
            "$default".into()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }

    /// The path in axum's syntax: `{param}` stays, the greedy `{name+}` is `{*name}`.
    pub fn axum_path(&self) -> String {
        let segments: Vec<String> = self
            .path
            .split('/')
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                Some(name) => format!("{{*{name}}}"),
                None => s.to_owned(),
            })
            .collect();
        segments.join("/")
    }

    /// Whether the router of `method` (`None`: of the methods no route names) holds this
    /// route: a route of another method never, an `ANY` route unless its path has one of
    /// that method.
    fn in_router_of(&self, method: Option<&Method>, routes: &[Route]) -> bool {
        match method {
            _ if self.path == "$default" => false,
            None => self.method == "ANY",
            Some(m) => {
                self.method == m.as_str()
                    || (self.method == "ANY" && !routes.iter().any(|o| o.path == self.path && o.method == m.as_str()))
            }
        }
    }
}

pub struct GatewayFunction {
    pub handler: Option<Arc<dyn HttpFunction>>,
    pub timeout: Duration,
}

pub struct GatewayConfig {
    pub routes: Vec<Route>,
    pub functions: BTreeMap<String, GatewayFunction>,
    /// CORS configuration by API logical id.
    pub cors: BTreeMap<String, CorsSpec>,
    /// The JWT authorizers by (API logical id, authorizer name).
    pub authorizers: BTreeMap<(String, String), Arc<JwtAuthorizer>>,
    pub static_dir: Option<PathBuf>,
    /// Extra fields of the `/health` answer.
    pub health: serde_json::Value,
    /// How long a request body may take to arrive before the request fails with a 408.
    pub body_timeout: Duration,
}

/// Marks a function's response, which the gateway passes on as it is.
#[derive(Clone, Copy)]
struct FromFunction;

/// The routers and what answers when none of their routes does.
struct Dispatch {
    by_method: HashMap<Method, Router>,
    other_methods: Router,
    /// Send a CORS preflight to the router of the method it asks about.
    preflights: bool,
    /// The `/health` answer, unless the template has a route on `/health`.
    health: Option<serde_json::Value>,
}

/// The gateway's axum app. Fails when axum cannot route the template's paths (matchit
/// refuses, for example, `/a/{x}` and `/a/{y}` in one router) or a CORS configuration is
/// not valid.
pub fn router(config: GatewayConfig) -> Result<Router> {
    let config = Arc::new(config);
    let mut cors = BTreeMap::new();
    for (api, spec) in &config.cors {
        cors.insert(
            api.clone(),
            cors_layer(spec).with_context(|| format!("{api}.CorsConfiguration"))?,
        );
    }
    let mut methods: Vec<Method> = Vec::new();
    for r in config
        .routes
        .iter()
        .filter(|r| r.method != "ANY" && r.path != "$default")
    {
        let m = Method::from_bytes(r.method.as_bytes()).with_context(|| format!("method of {}", r.key()))?;
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let fallback = Arc::new(Fallback {
        static_dir: config.static_dir.clone(),
        default_route: config
            .routes
            .iter()
            .find(|r| r.path == "$default")
            .map(|r| with_cors(endpoint(&config, r), r, &cors)),
    });
    // axum panics on a path it cannot route (two parameter names at one place, no leading
    // slash): report it as the template's error.
    let build = |method: Option<&Method>| {
        std::panic::catch_unwind(AssertUnwindSafe(|| method_router(&config, method, &cors, &fallback))).map_err(|p| {
            anyhow!(
                "cannot route the template's HttpApi events: {}",
                support_aws::lambda::panic_message(&*p)
            )
        })
    };
    let mut by_method = HashMap::new();
    for m in methods {
        let router = build(Some(&m))?;
        by_method.insert(m, router);
    }
    let dispatch = Arc::new(Dispatch {
        by_method,
        other_methods: build(None)?,
        preflights: !config.cors.is_empty(),
        health: (!config.routes.iter().any(|r| r.path == "/health")).then(|| config.health.clone()),
    });
    Ok(Router::new()
        .fallback(move |request: Request| dispatch.clone().call(request))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::map_response(json_errors)))
}

impl Dispatch {
    async fn call(self: Arc<Self>, request: Request) -> Response {
        let method = request.method().clone();
        if let Some(extra) = &self.health {
            if request.uri().path() == "/health" && (method == Method::GET || method == Method::HEAD) {
                let mut body = json!({ "status": "ok" });
                if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                    b.extend(extra.clone());
                }
                return json_response(StatusCode::OK, body);
            }
        }
        let requested = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .filter(|_| self.preflights && method == Method::OPTIONS)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let method = requested.unwrap_or(method);
        let router = self.by_method.get(&method).unwrap_or(&self.other_methods).clone();
        router.oneshot(request).await.into_response()
    }
}

fn method_router(
    config: &Arc<GatewayConfig>,
    method: Option<&Method>,
    cors: &BTreeMap<String, CorsLayer>,
    fallback: &Arc<Fallback>,
) -> Router {
    let routes = |greedy: bool| {
        let routes = config.routes.iter().filter(|r| r.in_router_of(method, &config.routes));
        routes
            .filter(|r| r.path.contains("+}") == greedy)
            .fold(Router::new(), |router, r| {
                router.route(&r.axum_path(), with_cors(endpoint(config, r), r, cors))
            })
    };
    // A full match beats a greedy one, as in API Gateway (and matchit refuses a parameter
    // and a wildcard at one place): greedy routes are the next router's.
    let fallback = fallback.clone();
    let greedy = routes(true).fallback(move |request: Request| fallback.clone().call(request));
    routes(false).fallback_service(greedy)
}

fn endpoint(config: &Arc<GatewayConfig>, route: &Route) -> MethodRouter {
    let (config, route) = (config.clone(), Arc::new(route.clone()));
    any(move |request: Request| invoke(config.clone(), route.clone(), request))
}

fn with_cors(endpoint: MethodRouter, route: &Route, cors: &BTreeMap<String, CorsLayer>) -> MethodRouter {
    let Some(layer) = route.api.as_ref().and_then(|api| cors.get(api)) else {
        return endpoint;
    };
    // Inside out: the function's own CORS headers are dropped (API Gateway ignores them),
    // the configured ones added, then adjusted to what API Gateway sends.
    endpoint
        .layer::<_, std::convert::Infallible>(middleware::map_response(without_cors_headers))
        .layer(layer.clone())
        .layer(middleware::from_fn(api_gateway_cors))
}

async fn without_cors_headers(mut response: Response) -> Response {
    remove_cors_headers(response.headers_mut());
    response
}

/// The tower-http CORS layer for an API's `CorsConfiguration`.
fn cors_layer(c: &CorsSpec) -> Result<CorsLayer> {
    let wildcard = |values: &[String]| values.iter().any(|v| v == "*");
    let header_names = |values: &[String]| -> Result<Vec<HeaderName>> {
        values
            .iter()
            .map(|h| Ok(HeaderName::from_bytes(h.as_bytes())?))
            .collect()
    };
    // With credentials, browsers refuse `*`: answer with what the request asked for.
    let origins = match (wildcard(&c.allow_origins), c.allow_credentials) {
        (true, false) => AllowOrigin::any(),
        (true, true) => AllowOrigin::mirror_request(),
        // The listed origins, and API Gateway's prefixes like `https://*`.
        (false, _) => {
            let allowed = c.allow_origins.clone();
            AllowOrigin::predicate(move |origin, _| {
                let origin = origin.to_str().unwrap_or_default();
                allowed.iter().any(|a| match a.strip_suffix('*') {
                    Some(prefix) => origin.len() > prefix.len() && origin.starts_with(prefix),
                    None => a.eq_ignore_ascii_case(origin),
                })
            })
        }
    };
    let methods = match (wildcard(&c.allow_methods), c.allow_credentials) {
        (true, false) => AllowMethods::any(),
        (true, true) => AllowMethods::mirror_request(),
        (false, _) => {
            let methods = c.allow_methods.iter().map(|m| Method::from_bytes(m.as_bytes()));
            AllowMethods::list(methods.collect::<Result<Vec<_>, _>>()?)
        }
    };
    let headers = match (wildcard(&c.allow_headers), c.allow_credentials) {
        (true, false) => AllowHeaders::any(),
        (true, true) => AllowHeaders::mirror_request(),
        (false, _) => AllowHeaders::list(header_names(&c.allow_headers)?),
    };
    let mut layer = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods(methods)
        .allow_headers(headers)
        .allow_credentials(c.allow_credentials);
    if !wildcard(&c.expose_headers) {
        layer = layer.expose_headers(ExposeHeaders::list(header_names(&c.expose_headers)?));
    } else if !c.allow_credentials {
        layer = layer.expose_headers(ExposeHeaders::any());
    }
    if let Some(age) = c.max_age {
        layer = layer.max_age(Duration::from_secs(age.into()));
    }
    Ok(layer)
}

/// Around the CORS layer, what API Gateway does differently: a preflight is a 204, and a
/// request without an allowed origin gets no CORS header at all.
async fn api_gateway_cors(request: Request, next: Next) -> Response {
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = request.headers().contains_key(header::ORIGIN);
    let mut response = next.run(request).await;
    if !origin || !response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        remove_cors_headers(response.headers_mut());
    }
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

fn remove_cors_headers(headers: &mut http::HeaderMap) {
    let cors: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in cors {
        headers.remove(name);
    }
}

/// What answers a request no route of its method takes.
struct Fallback {
    static_dir: Option<PathBuf>,
    default_route: Option<MethodRouter>,
}

impl Fallback {
    async fn call(self: Arc<Self>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        if let Some(dir) = &self.static_dir {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                if let Some(response) = static_file(dir, &parts).await {
                    return response;
                }
            }
        }
        match &self.default_route {
            Some(route) => route
                .clone()
                .oneshot(Request::from_parts(parts, body))
                .await
                .into_response(),
            None => gateway_error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }
}

/// A file of the web form, or index.html for a browser navigation to a client-side route
/// (it accepts text/html, and the path has no extension); `None` when there is none.
async fn static_file(dir: &Path, request: &http::request::Parts) -> Option<Response> {
    let probe = || {
        let mut r = Request::new(Body::empty());
        *r.method_mut() = request.method.clone();
        *r.uri_mut() = request.uri.clone();
        *r.headers_mut() = request.headers.clone();
        r
    };
    let mut response = ServeDir::new(dir).oneshot(probe()).await.ok()?;
    let navigation = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
        && Path::new(request.uri.path()).extension().is_none();
    if response.status() == StatusCode::NOT_FOUND && navigation {
        response = ServeFile::new(dir.join("index.html")).oneshot(probe()).await.ok()?;
    }
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    let mut response = response.map(Body::new);
    // Local development: always revalidate, so a rebuilt form shows at once.
    let no_cache = HeaderValue::from_static("no-cache");
    response.headers_mut().insert(header::CACHE_CONTROL, no_cache);
    Some(response)
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// API Gateway's own error bodies.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "message": message }))
}

/// An error after which the connection is closed: the request body was not read to its end.
fn closing(status: StatusCode, message: &str) -> Response {
    let mut response = gateway_error(status, message);
    let close = HeaderValue::from_static("close");
    response.headers_mut().insert(header::CONNECTION, close);
    response
}

/// Gives the errors the gateway's libraries answer (a body over the limit, a bad range, ...)
/// the JSON body of API Gateway's errors; the functions' responses are passed on as they are.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error())
        || json
        || response.extensions().get::<FromFunction>().is_some()
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let body = json!({ "message": message });
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body.to_string()))
}

async fn invoke(config: Arc<GatewayConfig>, route: Arc<Route>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    // Only a preflight the route's API answers no CORS for comes here with another method.
    if route.method != "ANY" && parts.method.as_str() != route.method {
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    }
    let params: BTreeMap<String, String> = if route.path.contains('{') {
        match axum::extract::Path::<Vec<(String, String)>>::from_request_parts(&mut parts, &()).await {
            Ok(axum::extract::Path(params)) => params.into_iter().collect(),
            Err(e) => {
                tracing::debug!(error = %e, "path parameters");
                return gateway_error(StatusCode::BAD_REQUEST, "Bad Request");
            }
        }
    } else {
        BTreeMap::new()
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    let authorized = match &route.auth {
        Some(auth) => match authorize(&config, &route, auth, &parts.headers).await {
            Ok(authorized) => Some(authorized),
            Err(refusal) => return refusal,
        },
        None => None,
    };
    let Some(function) = config.functions.get(&route.function) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let Some(handler) = function.handler.clone() else {
        tracing::error!(function = %route.function, "no handler for this function");
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let read = Bytes::from_request(Request::from_parts(parts.clone(), body), &());
    let body = match tokio::time::timeout(config.body_timeout, read).await {
        Ok(Ok(body)) => body,
        Err(_) => {
            tracing::warn!(route = %route.key(), timeout = ?config.body_timeout, "the request body stalled");
            return closing(StatusCode::REQUEST_TIMEOUT, "Request Timeout");
        }
        Ok(Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)))) => {
            return closing(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        }
        Ok(Err(e)) => {
            tracing::warn!(route = %route.key(), error = %e, "unreadable request body");
            return closing(StatusCode::BAD_REQUEST, "Bad Request");
        }
    };
    let lambda_request = match lambda_request(&parts, &body, &route, params, peer, authorized.as_ref()) {
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
        Ok(Ok(r)) => {
            let mut response = to_axum(r);
            response.extensions_mut().insert(FromFunction);
            response
        }
        Ok(Err(join)) => {
            let why = if join.is_panic() {
                support_aws::lambda::panic_message(&*join.into_panic())
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

/// The route's authorizer's verdict on the request: its claims, or API Gateway's refusal.
async fn authorize(
    config: &GatewayConfig,
    route: &Route,
    auth: &RouteAuth,
    headers: &http::HeaderMap,
) -> Result<Authorized, Response> {
    let api = route.api.clone().unwrap_or_default();
    let Some(authorizer) = config.authorizers.get(&(api, auth.authorizer.clone())) else {
        tracing::error!(route = %route.key(), authorizer = %auth.authorizer, "the route's authorizer is not configured");
        return Err(gateway_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        ));
    };
    let refusal = match authorizer.authorize(headers, &auth.scopes).await {
        Ok(authorized) => return Ok(authorized),
        Err(refusal) => refusal,
    };
    tracing::info!(route = %route.key(), refusal = ?refusal, "refused by the route's authorizer");
    let (status, message, challenge) = match &refusal {
        Refused::Unauthorized(why) => (
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            format!(r#"Bearer scope="" error="invalid_token" error_description="{why}""#),
        ),
        Refused::Forbidden => (
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(r#"Bearer scope="{}" error="insufficient_scope""#, auth.scopes.join(" ")),
        ),
    };
    let mut response = gateway_error(status, message);
    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    Err(response)
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
    authorized: Option<&Authorized>,
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
    if let Some(authorized) = authorized {
        event["requestContext"]["authorizer"] = json!({
            "jwt": { "claims": authorized.claims, "scopes": authorized.scopes },
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{EventSpec, StackTemplate};
    use http::HeaderMap;
    use lambda_http::RequestExt;

    /// Answers with the function's name and the event's routeKey (headers), and its
    /// pathParameters (body).
    fn echo(name: &str) -> GatewayFunction {
        let name = name.to_owned();
        GatewayFunction {
            handler: Some(crate::functions::http_fn(move |req: lambda_http::Request| {
                let name = name.clone();
                async move {
                    let route_key = match req.request_context() {
                        lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx.route_key,
                        _ => None,
                    };
                    let params: BTreeMap<String, String> = req
                        .path_parameters()
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    lambda_http::Response::builder()
                        .header("content-type", "application/json")
                        .header("x-function", name)
                        .header("x-route-key", route_key.unwrap_or_default())
                        .body(lambda_http::Body::Text(json!(params).to_string()))
                        .unwrap()
                }
            })),
            timeout: Duration::from_secs(5),
        }
    }

    fn config(routes: Vec<Route>) -> GatewayConfig {
        GatewayConfig {
            functions: routes.iter().map(|r| (r.function.clone(), echo(&r.function))).collect(),
            routes,
            cors: BTreeMap::new(),
            authorizers: BTreeMap::new(),
            static_dir: None,
            health: json!({}),
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    fn template_config() -> GatewayConfig {
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        let routes = t
            .http_events()
            .into_iter()
            .map(|(f, e)| match e {
                EventSpec::HttpApi { method, path, api, .. } => Route::new(method, path, &f.logical_id, api.clone()),
                _ => unreachable!(),
            })
            .collect();
        GatewayConfig {
            cors: t
                .http_apis
                .values()
                .filter_map(|a| Some((a.logical_id.clone(), a.cors.clone()?)))
                .collect(),
            ..config(routes)
        }
    }

    async fn send(app: &Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let mut request = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// (function, routeKey, pathParameters) of the route that took the request, if any.
    async fn routed(app: &Router, method: &str, uri: &str) -> Option<(String, String, BTreeMap<String, String>)> {
        let (status, headers, body) = send(app, method, uri, &[]).await;
        if status == StatusCode::NOT_FOUND && method != "HEAD" {
            assert_eq!(body, r#"{"message":"Not Found"}"#);
        }
        let header = |name: &str| Some(headers.get(name)?.to_str().ok()?.to_owned());
        // A HEAD response has no body.
        let params = serde_json::from_str(&body).unwrap_or_default();
        Some((header("x-function")?, header("x-route-key")?, params))
    }

    #[tokio::test]
    async fn template_routes_match_like_api_gateway() {
        let app = router(template_config()).unwrap();
        let (f, key, params) = routed(&app, "POST", "/support/submit").await.unwrap();
        assert_eq!(
            (f.as_str(), key.as_str()),
            ("WebformApiFunction", "POST /support/submit")
        );
        assert!(params.is_empty());
        let (_, key, params) = routed(&app, "GET", "/support/ticket/tkt_abc").await.unwrap();
        assert_eq!(key, "GET /support/ticket/{id}");
        assert_eq!(params["id"], "tkt_abc");
        assert!(
            routed(&app, "GET", "/support/submit").await.is_none(),
            "method must match"
        );
        assert!(
            routed(&app, "GET", "/support/ticket/a/b").await.is_none(),
            "one segment per parameter"
        );
        assert!(routed(&app, "GET", "/support/ticket/").await.is_none());
        assert!(routed(&app, "GET", "/").await.is_none());
    }

    #[tokio::test]
    async fn most_specific_route_wins() {
        let app = router(config(vec![
            Route::new("ANY", "$default", "Default", None),
            Route::new("ANY", "/a/{proxy+}", "Greedy", None),
            Route::new("GET", "/a/{x}", "Param", None),
            Route::new("GET", "/a/b", "Literal", None),
            Route::new("POST", "/c/{proxy+}", "PostGreedy", None),
            Route::new("GET", "/c/{x}", "GetParam", None),
        ]))
        .unwrap();
        let f = |m: &'static str, p: &'static str| {
            let app = app.clone();
            async move { routed(&app, m, p).await.unwrap() }
        };
        assert_eq!(f("GET", "/a/b").await.0, "Literal");
        assert_eq!(f("GET", "/a/c").await.0, "Param");
        assert_eq!(f("POST", "/a/c").await.0, "Greedy");
        let (name, key, params) = f("GET", "/a/b/c%20d").await;
        assert_eq!((name.as_str(), key.as_str()), ("Greedy", "ANY /a/{proxy+}"));
        assert_eq!(params["proxy"], "b/c d", "decoded, without the leading slash");
        let (name, key, params) = f("DELETE", "/zzz").await;
        assert_eq!((name.as_str(), key.as_str()), ("Default", "$default"));
        assert!(params.is_empty());
        assert_eq!(f("HEAD", "/a/b").await.0, "Greedy", "HEAD is not GET");
        // A route of the request's method wins over a more specific path of another one.
        assert_eq!(f("POST", "/c/d").await.0, "PostGreedy");
        assert_eq!(f("GET", "/c/d").await.0, "GetParam");
    }

    #[test]
    fn conflicting_routes_are_reported() {
        let err = router(config(vec![
            Route::new("GET", "/a/{x}", "A", None),
            Route::new("GET", "/a/{y}", "B", None),
        ]))
        .expect_err("matchit refuses two parameter names at one place");
        assert!(err.to_string().contains("conflict"), "{err}");
        assert_eq!(Route::new("any", "/a/{p+}", "F", None).axum_path(), "/a/{*p}");
        assert_eq!(Route::new("get", "/a/{p}/b", "F", None).key(), "GET /a/{p}/b");
    }

    #[test]
    fn requests_become_the_api_gateway_v2_event() {
        let route = Route::new(
            "GET",
            "/support/ticket/{id}",
            "WebformApiFunction",
            Some("SupportHttpApi".into()),
        );
        let params = BTreeMap::from([("id".to_owned(), "tkt_1".to_owned())]);
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
        let r = lambda_request(&parts, b"", &route, params, peer, None).unwrap();
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

        let route = Route::new("POST", "/support/submit", "WebformApiFunction", None);
        let post = |ct: &str, body: &[u8]| {
            let (parts, _) = http::Request::builder()
                .method("POST")
                .uri("/support/submit")
                .header("content-type", ct)
                .body(())
                .unwrap()
                .into_parts();
            lambda_request(&parts, body, &route, BTreeMap::new(), peer, None).unwrap()
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
            ("whatsapp-webhook.json", "POST", "/webhooks/whatsapp"),
            ("operator-api-me.json", "GET", "/operator/me"),
        ] {
            let text =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(file)).unwrap();
            let event: aws_lambda_events::apigw::ApiGatewayV2httpRequest = serde_json::from_str(&text).unwrap();
            let r: lambda_http::Request = lambda_http::request::LambdaRequest::ApiGatewayV2(event).into();
            assert_eq!((r.method().as_str(), r.uri().path()), (method, path), "{file}");
        }
    }

    #[tokio::test]
    async fn cors_follows_the_configuration() {
        let cors = CorsSpec {
            allow_origins: vec!["https://a.example".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["content-type".into()],
            max_age: Some(600),
            ..Default::default()
        };
        let with = |cors: CorsSpec| {
            router(GatewayConfig {
                cors: BTreeMap::from([("Api".to_owned(), cors)]),
                ..config(vec![
                    Route::new("POST", "/submit", "F", Some("Api".into())),
                    Route::new("ANY", "$default", "D", Some("Api".into())),
                    Route::new("POST", "/other", "F", Some("NoCorsApi".into())),
                ])
            })
            .unwrap()
        };
        let app = with(cors.clone());
        let preflight = |origin: &'static str| {
            let app = app.clone();
            async move {
                let headers = [("origin", origin), ("access-control-request-method", "POST")];
                send(&app, "OPTIONS", "/submit", &headers).await
            }
        };
        let (status, ok, _) = preflight("https://a.example").await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "answered by the gateway, as API Gateway does"
        );
        assert_eq!(ok[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(ok[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert!(ok[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("POST"));
        let headers = [
            ("origin", "https://a.example"),
            ("access-control-request-method", "POST"),
        ];
        let (status, default, _) = send(&app, "OPTIONS", "/elsewhere", &headers).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "the $default route's API answers too");
        assert_eq!(default[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        let (status, _, _) = send(&app, "OPTIONS", "/other", &headers).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "an API without CORS answers no preflight"
        );
        let (_, denied, _) = preflight("https://evil.example").await;
        assert!(
            !denied.keys().any(|k| k.as_str().starts_with("access-control-")),
            "no CORS header for other origins: {denied:?}"
        );

        let (status, headers, _) = send(&app, "POST", "/submit", &[("origin", "https://a.example")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        let (_, headers, _) = send(&app, "POST", "/submit", &[("origin", "https://b.example")]).await;
        assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        // The function's own CORS headers are ignored, as API Gateway does.
        let mut config = GatewayConfig {
            cors: BTreeMap::from([("Api".to_owned(), cors.clone())]),
            ..config(vec![Route::new("POST", "/submit", "F", Some("Api".into()))])
        };
        config.functions.insert(
            "F".into(),
            GatewayFunction {
                handler: Some(crate::functions::http_fn(|_| async {
                    let mut r = lambda_http::Response::new(lambda_http::Body::Empty);
                    r.headers_mut()
                        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                    r
                })),
                timeout: Duration::from_secs(1),
            },
        );
        let own = router(config).unwrap();
        let (_, headers, _) = send(&own, "POST", "/submit", &[("origin", "https://b.example")]).await;
        assert!(
            !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            "{headers:?}"
        );

        let https = with(CorsSpec {
            allow_origins: vec!["https://*".into()],
            ..cors.clone()
        });
        let (_, headers, _) = send(&https, "POST", "/submit", &[("origin", "https://x.example")]).await;
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://x.example");
        let (_, headers, _) = send(&https, "POST", "/submit", &[("origin", "http://x.example")]).await;
        assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        let star = with(CorsSpec {
            allow_origins: vec!["*".into()],
            ..cors
        });
        let (_, headers, _) = send(&star, "POST", "/submit", &[("origin", "https://x.example")]).await;
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let (_, none, _) = send(&star, "POST", "/submit", &[]).await;
        assert!(
            !none.keys().any(|k| k.as_str().starts_with("access-control-")),
            "no Origin, no CORS headers"
        );
    }

    #[tokio::test]
    async fn static_files_never_leave_the_folder() {
        let dir = std::env::temp_dir().join(format!("local-stack-static-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>form</html>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        let app = router(GatewayConfig {
            static_dir: Some(dir.clone()),
            ..template_config()
        })
        .unwrap();
        let html = [("accept", "text/html")];
        let (status, headers, body) = send(&app, "GET", "/", &[]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "<html>form</html>"));
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        let (status, headers, _) = send(&app, "GET", "/assets/app.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));
        let (status, _, body) = send(&app, "HEAD", "/assets/app.js", &[]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
        for escape in ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/assets/../../Cargo.toml"] {
            let (status, _, body) = send(&app, "GET", escape, &[]).await;
            assert_eq!(
                (status, body.as_str()),
                (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#),
                "{escape}"
            );
        }
        assert_eq!(send(&app, "GET", "/missing.js", &html).await.0, StatusCode::NOT_FOUND);
        let (status, _, body) = send(&app, "GET", "/ticket/abc", &html).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "<html>form</html>"),
            "client-side route"
        );
        assert_eq!(send(&app, "GET", "/ticket/abc", &[]).await.0, StatusCode::NOT_FOUND);
        assert_eq!(send(&app, "POST", "/assets/app.js", &[]).await.0, StatusCode::NOT_FOUND);
        // The API's routes come first.
        let (_, headers, _) = send(&app, "GET", "/support/ticket/t1", &html).await;
        assert_eq!(headers["x-route-key"], "GET /support/ticket/{id}");
        // A library's error is JSON too.
        let (status, headers, body) = send(&app, "GET", "/assets/app.js", &[("range", "bytes=900-999")]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body, r#"{"message":"Range Not Satisfiable"}"#);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn health_answers_locally() {
        let app = router(template_config()).unwrap();
        let (status, _, body) = send(&app, "GET", "/health", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"],
            "ok"
        );
        assert_eq!(send(&app, "POST", "/health", &[]).await.0, StatusCode::NOT_FOUND);
    }
}
