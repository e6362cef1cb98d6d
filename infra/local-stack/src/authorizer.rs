//! API Gateway's JWT authorizer (HTTP APIs), as the gateway runs it on the routes whose event
//! names one: the token from the identity source header (`Bearer ` or not), RS256 under a key
//! of the issuer's JWKS, `iss` the configured issuer, `aud` one of the audiences (or, only
//! when there is no `aud`, `client_id`: Cognito's access tokens), `exp` and `nbf`, and the
//! route's scopes. The claims reach the function as API Gateway passes them: every value a
//! string.
//!
//! Locally the issuer is a user pool that moto emulates. moto signs the tokens of every pool
//! with one key, which it publishes for any pool id, so the signature alone proves nothing
//! about the pool: `iss` and the audience are what tell pools and clients apart.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use support_aws::jwt::{JwksVerifier, TokenRejected};

use crate::template::JwtConfiguration;

/// Where a Cognito issuer's keys are locally: `https://cognito-idp.<region>.amazonaws.com/<pool>`
/// publishes them at `<moto>/<pool>/.well-known/jwks.json`. Any other issuer publishes them
/// under its own URL, as API Gateway expects.
pub fn jwks_url(issuer: &str, moto_endpoint: &str) -> String {
    let cognito_pool = issuer
        .strip_prefix("https://cognito-idp.")
        .and_then(|rest| rest.split_once(".amazonaws.com/"))
        .map(|(_, pool)| pool)
        .filter(|pool| !pool.is_empty() && !pool.contains('/'));
    match cognito_pool {
        Some(pool) => format!("{}/{pool}/.well-known/jwks.json", moto_endpoint.trim_end_matches('/')),
        None => format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')),
    }
}

/// One `Auth.Authorizers` entry of an HTTP API, ready to check requests.
pub struct JwtAuthorizer {
    /// The identity source header, lower case.
    header: String,
    audiences: Vec<String>,
    keys: JwksVerifier,
    validation: Validation,
}

/// What the function gets in `requestContext.authorizer.jwt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub claims: BTreeMap<String, String>,
    /// The route's scopes the token holds, when the route asks for scopes.
    pub scopes: Option<Vec<String>>,
}

/// Why a request was refused before reaching its function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// 401: no valid token.
    Unauthorized(TokenRejected),
    /// 403: a valid token without any of the route's scopes.
    Forbidden,
}

impl JwtAuthorizer {
    pub fn new(header: &str, configuration: JwtConfiguration, jwks_url: &str) -> reqwest::Result<Self> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[configuration.issuer]);
        // Cognito's access tokens have no `aud`: checked by hand, as API Gateway does.
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss"]);
        // API Gateway allows no clock skew.
        validation.leeway = 0;
        Ok(Self {
            header: header.to_ascii_lowercase(),
            audiences: configuration.audiences,
            keys: JwksVerifier::new(jwks_url)?,
            validation,
        })
    }

    /// The claims of the request's token, or why it is refused.
    pub async fn authorize(&self, headers: &http::HeaderMap, route_scopes: &[String]) -> Result<Authorized, Refused> {
        let unauthorized = Refused::Unauthorized;
        let value = headers
            .get(self.header.as_str())
            .ok_or(unauthorized(TokenRejected::MissingHeader))?;
        let value = value
            .to_str()
            .map_err(|_| unauthorized(TokenRejected::Malformed("the header is not text".into())))?;
        // The `Bearer ` prefix is optional for API Gateway.
        let token = support_aws::jwt::bearer_token(value).unwrap_or(value.trim());
        let claims: Map<String, Value> = self.keys.decode(token, &self.validation).await.map_err(unauthorized)?;
        let audience = match claims.get("aud") {
            Some(aud) => aud,
            None => claims.get("client_id").unwrap_or(&Value::Null),
        };
        let audiences: Vec<&str> = match audience {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences
            .iter()
            .any(|a| self.audiences.iter().any(|allowed| allowed == a))
        {
            return Err(unauthorized(TokenRejected::WrongAudience));
        }
        let scopes = match route_scopes {
            [] => None,
            wanted => {
                let held = claims
                    .get("scope")
                    .or_else(|| claims.get("scp"))
                    .map(claim_text)
                    .unwrap_or_default();
                let held: Vec<String> = held
                    .trim_matches(|c| c == '[' || c == ']')
                    .split_whitespace()
                    .filter(|scope| wanted.iter().any(|w| w == scope))
                    .map(str::to_owned)
                    .collect();
                if held.is_empty() {
                    return Err(Refused::Forbidden);
                }
                Some(held)
            }
        };
        Ok(Authorized {
            claims: claims.iter().map(|(k, v)| (k.clone(), claim_text(v))).collect(),
            scopes,
        })
    }
}

/// A claim as API Gateway passes it to the function: strings as they are, numbers and
/// booleans in their JSON text, arrays as `[a b]` (Go's formatting, which API Gateway uses).
pub fn claim_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(claim_text).collect::<Vec<_>>().join(" ")),
        // Go prints a map's keys sorted.
        Value::Object(fields) => format!(
            "map[{}]",
            fields
                .iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", claim_text(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_are_strings_as_api_gateway_passes_them() {
        assert_eq!(claim_text(&json!("alice")), "alice");
        assert_eq!(claim_text(&json!(1795419125)), "1795419125");
        assert_eq!(claim_text(&json!(true)), "true");
        assert_eq!(claim_text(&json!(["operators", "admins"])), "[operators admins]");
        assert_eq!(claim_text(&json!([])), "[]");
        assert_eq!(claim_text(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }

    #[test]
    fn cognito_issuers_publish_their_keys_on_moto() {
        let moto = "http://127.0.0.1:5055/";
        assert_eq!(
            jwks_url("https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_abc", moto),
            "http://127.0.0.1:5055/eu-west-3_abc/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url("https://issuer.example/tenant/", moto),
            "https://issuer.example/tenant/.well-known/jwks.json"
        );
    }
}
