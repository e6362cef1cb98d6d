//! The operator API (docs/operator-api.md): what the operator console and the MCP server
//! call, under `/operator/`. The HTTP API sends every `/operator/...` request here through
//! one route ([`ROUTES`]) after its JWT authorizer checked the token; the operator's routes
//! are dispatched here, on the method and the path below `/operator/`.

use std::collections::HashMap;

use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use support_core::domain::Operator;

use super::http::json_response;

/// Every operator route, behind the HTTP API's JWT authorizer (template.yaml).
pub const OPERATOR: &str = "ANY /operator/{proxy+}";
/// The route keys this function serves: template.yaml's `HttpApi` events of the function.
pub const ROUTES: &[&str] = &[OPERATOR];

/// An operator route, from the method and the path below `/operator/`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OperatorRoute {
    /// `GET /operator/me`: who is signed in.
    Me,
}

impl OperatorRoute {
    fn of(method: &Method, path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["me"]) => Some(Self::Me),
            _ => None,
        }
    }
}

#[derive(Default)]
pub struct OperatorApi;

impl OperatorApi {
    pub fn new() -> Self {
        Self
    }

    /// Answers one request: 401 unless it carries an operator's verified claims, 404 for a
    /// route the API does not have.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        // API Gateway's authorizer already refused requests without a valid token: claims
        // that name nobody mean the route lost its authorizer, and nobody gets in.
        let operator = match jwt_claims(&request).map(Operator::from_claims) {
            Some(Ok(operator)) => operator,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a token whose claims name no operator");
                return unauthorized();
            }
            None => {
                tracing::error!("an operator request without verified claims: is the route's authorizer set?");
                return unauthorized();
            }
        };
        let path = request
            .path_parameters_ref()
            .and_then(|p| p.first("proxy"))
            .unwrap_or_default()
            .to_owned();
        match OperatorRoute::of(request.method(), &path) {
            Some(OperatorRoute::Me) => me(&operator),
            None => not_found("No such operator route"),
        }
    }
}

fn me(operator: &Operator) -> Response<Body> {
    json_response(
        200,
        json!({
            "sub": operator.sub(),
            "username": operator.username(),
            "email": operator.email().map(|e| e.as_str()),
        }),
    )
}

/// The claims API Gateway's JWT authorizer put in the request (`requestContext.authorizer.jwt`).
fn jwt_claims(request: &Request) -> Option<&HashMap<String, String>> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => Some(&context.authorizer.as_ref()?.jwt.as_ref()?.claims),
        _ => None,
    }
}

/// API Gateway's own answer to a request its authorizer refused.
fn unauthorized() -> Response<Body> {
    json_response(401, json!({ "message": "Unauthorized" }))
}

/// The operator API's errors: `{"error": "<what is wrong, for a person>"}`.
fn not_found(message: &str) -> Response<Body> {
    json_response(404, json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_method_and_the_path_below_operator() {
        assert_eq!(OperatorRoute::of(&Method::GET, "me"), Some(OperatorRoute::Me));
        assert_eq!(OperatorRoute::of(&Method::GET, "me/"), Some(OperatorRoute::Me));
        assert_eq!(OperatorRoute::of(&Method::POST, "me"), None);
        assert_eq!(OperatorRoute::of(&Method::GET, "me/again"), None);
        assert_eq!(OperatorRoute::of(&Method::GET, "tickets"), None);
    }
}
