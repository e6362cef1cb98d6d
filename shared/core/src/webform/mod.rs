//! The web support form: its fields checked, and what the status page may show of a ticket.

mod validation;
mod view;

use std::sync::LazyLock;

use regex::Regex;

/// Where a claimed address is confirmed: `GET <site>/support/confirm/<ticket id>?token=…`
/// (the form API's route, template.yaml).
pub const CONFIRM_PATH: &str = "/support/confirm";

static CONFIRM_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"({}/[A-Za-z0-9_]+\?token=)[A-Za-z0-9]+",
        regex::escape(CONFIRM_PATH)
    ))
    .expect("valid regex")
});

/// The text without the secrets of confirmation links: a reply that quotes the email
/// carrying one must not hand it to whoever reads the ticket (whoever typed the address).
pub fn without_confirm_tokens(text: &str) -> String {
    CONFIRM_TOKEN.replace_all(text, "${1}removed").into_owned()
}

pub use validation::{validate, validate_follow_up, FieldError, ValidSubmission};
pub use view::TicketView;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_confirmation_link_loses_its_secret() {
        let quoted = "Not me!\n> Confirm: https://support.tandem.example/support/confirm/tkt_0123456789abcdef0123456789abcdef?token=9f2c1e0d8b7a\n> Bye";
        let kept = without_confirm_tokens(quoted);
        assert_eq!(
            kept,
            "Not me!\n> Confirm: https://support.tandem.example/support/confirm/tkt_0123456789abcdef0123456789abcdef?token=removed\n> Bye"
        );
    }
}
