//! Secrets given to a customer (a one-time code, a confirmation link): only their digests
//! are stored, and what comes back is compared with them in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random secret: 122 bits (UUID v4) as 32 hex digits.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What is stored of a secret: hex SHA-256 of the salt and the secret.
pub fn digest(salt: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{secret}").as_bytes()))
}

/// Whether `secret` is the one whose digest is stored, compared in constant time.
pub fn matches(stored_digest: &str, salt: &str, secret: &str) -> bool {
    digest(salt, secret).as_bytes().ct_eq(stored_digest.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_its_digest() {
        let token = new_token();
        let stored = digest("salt", &token);
        assert!(matches(&stored, "salt", &token));
        assert!(!matches(&stored, "other salt", &token));
        assert!(!matches(&stored, "salt", &new_token()));
        assert_ne!(new_token(), new_token());
    }
}
