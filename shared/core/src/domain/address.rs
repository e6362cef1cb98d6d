use email_address::{EmailAddress, Options};

/// A bare mailbox address on a public domain: `name@example.com`. Display names
/// (`Eve <eve@evil.example>`), IP literals (`bob@[127.0.0.1]`) and single-label domains
/// (`first.last@localhost`) are refused: SES would reject them when the reply is sent.
pub fn parse_email_address(text: &str) -> Result<EmailAddress, email_address::Error> {
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    EmailAddress::parse_with_options(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_addresses_on_public_domains_are_accepted() {
        assert!(parse_email_address("maya@northwind.example").is_ok());
        for bad in [
            "Eve <eve@evil.example>",
            "bob@[127.0.0.1]",
            "first.last@localhost",
            "not-an-email",
        ] {
            assert!(parse_email_address(bad).is_err(), "{bad} accepted");
        }
    }
}
