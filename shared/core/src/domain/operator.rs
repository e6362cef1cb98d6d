//! An operator: a person of the support team, signed in to the operator user pool. Who they
//! are comes from their token's claims, which the HTTP API's JWT authorizer checked and
//! passes on as strings: `sub` (stable), the user name (`username` in an access token,
//! `cognito:username` in an ID token) and, when present, `email`.

use std::collections::HashMap;

use email_address::EmailAddress;

use super::address::parse_email_address;

/// Cognito's own limit on user names; subs are UUIDs.
const MAX_CLAIM_CHARS: usize = 128;

/// A signed-in operator, as the operator API and its audit records name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    sub: String,
    username: String,
    email: Option<EmailAddress>,
}

/// Why a token's claims name no operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorClaimsError {
    #[error("the `{0}` claim is missing")]
    Missing(&'static str),
    #[error("the `{0}` claim is empty, too long or holds control characters")]
    Invalid(&'static str),
}

impl Operator {
    /// The operator named by a verified token's claims (every value a string, as API
    /// Gateway passes them).
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Self, OperatorClaimsError> {
        let claim = |name: &'static str| claims.get(name).map(|value| (name, value.as_str()));
        let sub = claim("sub").ok_or(OperatorClaimsError::Missing("sub"))?;
        let username = claim("username")
            .or_else(|| claim("cognito:username"))
            .ok_or(OperatorClaimsError::Missing("username"))?;
        let email = match claim("email") {
            Some((name, value)) => Some(parse_email_address(value).map_err(|_| OperatorClaimsError::Invalid(name))?),
            None => None,
        };
        Ok(Self {
            sub: text(sub)?,
            username: text(username)?,
            email,
        })
    }

    /// The user's id in the pool: never changes, never reused.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The user name the pool gave them (with email sign-in, Cognito's own id for the user).
    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }
}

/// A claim's value as it is kept: it reaches logs and audit records.
fn text((name, value): (&'static str, &str)) -> Result<String, OperatorClaimsError> {
    let valid =
        !value.trim().is_empty() && value.chars().count() <= MAX_CLAIM_CHARS && !value.chars().any(char::is_control);
    match valid {
        true => Ok(value.to_owned()),
        false => Err(OperatorClaimsError::Invalid(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const SUB: &str = "5f3ab64d-4b18-4232-ad63-4557c7ccedf0";

    #[test]
    fn an_access_token_names_the_operator_by_username() {
        let operator = Operator::from_claims(&claims(&[
            ("sub", SUB),
            ("username", "alice"),
            ("token_use", "access"),
            ("exp", "1795424435"),
        ]))
        .unwrap();
        assert_eq!((operator.sub(), operator.username()), (SUB, "alice"));
        assert_eq!(operator.email(), None);
    }

    #[test]
    fn an_id_token_names_the_operator_by_cognito_username_with_their_email() {
        let operator = Operator::from_claims(&claims(&[
            ("sub", SUB),
            ("cognito:username", SUB),
            ("email", "operator@tandemboards.example"),
            ("cognito:groups", "[operators admins]"),
        ]))
        .unwrap();
        assert_eq!(operator.username(), SUB);
        assert_eq!(
            operator.email().map(|e| e.as_str()),
            Some("operator@tandemboards.example")
        );
    }

    #[test]
    fn the_access_tokens_username_wins_over_an_id_tokens() {
        let operator = Operator::from_claims(&claims(&[
            ("sub", SUB),
            ("username", "alice"),
            ("cognito:username", "bob"),
        ]))
        .unwrap();
        assert_eq!(operator.username(), "alice");
    }

    #[test]
    fn claims_without_a_valid_sub_username_or_email_name_nobody() {
        let cases = [
            (claims(&[("username", "alice")]), OperatorClaimsError::Missing("sub")),
            (claims(&[("sub", SUB)]), OperatorClaimsError::Missing("username")),
            (
                claims(&[("sub", " "), ("username", "alice")]),
                OperatorClaimsError::Invalid("sub"),
            ),
            (
                claims(&[("sub", SUB), ("username", "ali\nce")]),
                OperatorClaimsError::Invalid("username"),
            ),
            (
                claims(&[("sub", SUB), ("cognito:username", &"a".repeat(129))]),
                OperatorClaimsError::Invalid("cognito:username"),
            ),
            (
                claims(&[("sub", SUB), ("username", "alice"), ("email", "not an address")]),
                OperatorClaimsError::Invalid("email"),
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(Operator::from_claims(&claims), Err(expected.clone()), "{expected}");
        }
    }
}
